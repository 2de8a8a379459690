"""The hand-written twins reproduce the published figures.

Reference figures come from torchvision (resnet18/50, mobilenet_v2,
googlenet without aux heads), the course's Keras notebooks (U-Net, the
residual blocks' test shapes) and the lectures (inception module, 1-D and
3-D convolutions), all under the project's conventions (buffers = running
mean and variance; MACs of conv, transposed conv and fc, bias excluded).
If a twin drifts from its network, these fail before any spec is compared.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from twins import (
    CourseResNet50,
    Figures,
    KerasConvolutionalBlock,
    KerasIdentityBlock,
    conv1d_lecture,
    conv3d_lecture,
    count_macs,
    lecture_inception,
    measure,
    resnet18,
    resnet50,
)
from twins_nets import ConvNeXt, GoogLeNet, MobileNetV2, MobileNetV3, UNet

PUBLISHED = {
    "resnet50": (resnet50, (224, 224, 3), Figures(25_557_032, 53_120, 4_089_184_256, (1000,))),
    "resnet18": (resnet18, (224, 224, 3), Figures(11_689_512, 9_600, 1_814_073_344, (1000,))),
    "mobilenet_v2": (MobileNetV2, (224, 224, 3), Figures(3_504_872, 34_112, 300_774_272, (1000,))),
    # torchvision's tables: 5,483,032 params and 0.22 GFLOPS (its "FLOPS" are MACs); 28,589,128 and 4.46
    "mobilenet_v3_large": (MobileNetV3, (224, 224, 3), Figures(5_483_032, 24_400, 216_589_760, (1000,))),
    "convnext_tiny": (ConvNeXt, (224, 224, 3), Figures(28_589_128, 0, 4_455_531_264, (1000,))),
    "googlenet": (GoogLeNet, (224, 224, 3), Figures(6_624_904, 14_560, 1_498_376_192, (1000,))),
    "unet": (UNet, (96, 128, 3), Figures(8_640_471, 0, 2_511_077_376, (96, 128, 23))),
    "inception_module": (lecture_inception, (28, 28, 192), Figures(163_696, 0, 128_049_152, (28, 28, 256))),
}


@pytest.mark.parametrize("name", PUBLISHED)
def test_twin_reproduces_the_published_figures(name: str) -> None:
    build, shape, expected = PUBLISHED[name]
    with torch.device("meta"):  # shapes and counts only: no arithmetic needed
        module = build()
    assert measure(module, shape) == expected


def test_the_lectures_bottleneck_saves_a_factor_of_ten_on_the_5x5_branch() -> None:
    x = torch.zeros(1, 192, 28, 28)
    assert count_macs(lecture_inception(bottleneck=True).b5, x)[0] == 12_443_648
    assert count_macs(lecture_inception(bottleneck=False).b5, x)[0] == 120_422_400


def test_the_courses_residual_blocks_on_the_notebooks_test_input() -> None:
    # identity_block(X, f=2, filters=[4, 4, 3]) and convolutional_block(X, f=2, filters=[2, 4, 6]) on 4x4x3.
    assert measure(KerasIdentityBlock(3, 2, (4, 4, 3)), (4, 4, 3)) == Figures(121, 22, 1_408, (4, 4, 3))
    assert measure(KerasConvolutionalBlock(3, 2, (2, 4, 6)), (4, 4, 3)) == Figures(134, 36, 320, (2, 2, 6))


def test_the_courses_resnet50_matches_its_keras_summary() -> None:
    # Keras' "Total params: 23,600,006" counts the batchnorm moving statistics: 23,546,886 + 53,120.
    with torch.device("meta"):
        figures = measure(CourseResNet50(), (64, 64, 3))
    assert (figures.params, figures.buffers, figures.output) == (23_546_886, 53_120, (6,))
    assert figures.params + figures.buffers == 23_600_006


def test_the_lectures_1d_and_3d_convolutions() -> None:
    assert measure(conv1d_lecture()[0], (14, 1)) == Figures(96, 0, 800, (10, 16))
    assert measure(conv3d_lecture()[0], (14, 14, 14, 1)) == Figures(2_016, 0, 2_000_000, (10, 10, 10, 16))
    assert measure(conv1d_lecture(), (14, 1)).output == (6, 32)
    assert measure(conv3d_lecture(), (14, 14, 14, 1)).output == (6, 6, 6, 32)


def test_mac_counter_follows_the_convention_on_single_layers() -> None:
    # conv: H_out·W_out·N·k_h·k_w·C_in/g; transposed: H_in·W_in·C_in·(N/g)·k_h·k_w; fc: n_in·N; bias excluded.
    assert measure(nn.Conv2d(6, 4, (3, 2), stride=2, groups=2), (9, 8, 6)).macs == 4 * 4 * 4 * 3 * 2 * 3
    assert measure(nn.ConvTranspose2d(6, 4, 3, stride=2, groups=2), (5, 7, 6)).macs == 5 * 7 * 6 * 2 * 3 * 3
    assert measure(nn.Sequential(nn.Flatten(), nn.Linear(12, 5)), (2, 2, 3)).macs == 60
    assert measure(nn.Sequential(nn.BatchNorm2d(3), nn.MaxPool2d(2), nn.ReLU()), (4, 4, 3)) == \
        Figures(6, 6, 0, (2, 2, 3))


def test_mac_counter_counts_a_shared_module_once_per_call() -> None:
    conv = nn.Conv2d(2, 2, 1, bias=False)
    twice = nn.Sequential(conv, conv)
    assert measure(twice, (3, 3, 2)) == Figures(4, 0, 2 * 3 * 3 * 2 * 2, (3, 3, 2))
