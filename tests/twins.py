"""Hand-written torch twins of the course's networks, and a figure counter.

The oracle for specs/'s graph examples: each twin is written from the paper,
torchvision's source or the course's Keras notebook, never from specc's IR
(torchvision itself does not load beside the CPU torch wheel here, so it is
not imported). ``measure(module, shape)`` reads what torch says, under the
project's conventions: parameters as torch counts them, buffers = batchnorm
running mean and variance, MACs = multiply-accumulates of conv, transposed
conv and fc layers (bias excluded) counted by forward hooks, output shape
channels last (H×W×C). Larger twins (MobileNet v2, U-Net, GoogLeNet) live in
twins_nets.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


@dataclass(frozen=True)
class Figures:
    params: int
    buffers: int
    macs: int
    output: tuple[int, ...]  # channels last, as the course writes shapes


def channels_last(shape: torch.Size) -> tuple[int, ...]:
    """(N, C, *spatial) -> (*spatial, C); a vector (N, C) -> (C,)."""
    return (*shape[2:], shape[1])


def channels_first(shape: tuple[int, ...], batch: int = 1) -> tuple[int, ...]:
    return (batch, shape[-1], *shape[:-1])


@contextmanager
def single_threaded() -> Iterator[None]:
    """On tiny tensors torch's thread pool costs more than it saves (a shared 2-core machine: 6x)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def count_buffers(module: nn.Module) -> int:
    # running mean and variance only: num_batches_tracked is bookkeeping, not state of the function
    return sum(b.numel() for name, b in module.named_buffers() if not name.endswith("num_batches_tracked"))


def _mac_hook(counter: list[int]):
    def hook(module: nn.Module, inputs: tuple, out: torch.Tensor) -> None:
        batch = out.shape[0]
        if isinstance(module, CONVS):  # each output value costs one filter's weights
            counter[0] += out.numel() // batch * module.weight[0].numel()
        elif isinstance(module, TRANSPOSED):  # each input value is spread over N/g·k_h·k_w outputs
            counter[0] += inputs[0].numel() // batch * module.weight[0].numel()
        elif isinstance(module, nn.Linear):
            counter[0] += inputs[0].numel() // batch // module.in_features * module.weight.numel()
    return hook


def count_macs(module: nn.Module, x: torch.Tensor) -> tuple[int, torch.Tensor]:
    """MACs per sample of one forward pass (a module called twice counts twice)."""
    counter = [0]
    handles = [m.register_forward_hook(_mac_hook(counter)) for m in module.modules()
               if isinstance(m, CONVS + TRANSPOSED + (nn.Linear,))]
    try:
        with torch.no_grad():
            out = module.eval()(x)
    finally:
        for handle in handles:
            handle.remove()
    return counter[0], out


def device_of(module: nn.Module) -> torch.device:
    return next(iter([*module.parameters(), *module.buffers()]), torch.empty(0)).device


def measure(module: nn.Module, input_shape: tuple[int, ...], batch: int = 1) -> Figures:
    """What torch says about ``module`` on a zero input of ``input_shape`` (channels last).

    A module built under ``torch.device("meta")`` is measured on meta tensors: the same shapes and
    counts without the arithmetic, which keeps the big twins fast."""
    x = torch.zeros(channels_first(input_shape, batch), device=device_of(module))
    macs, out = count_macs(module, x)
    return Figures(count_params(module), count_buffers(module), macs, channels_last(out.shape))


def conv_bn(c_in: int, c_out: int, k: int, s: int = 1, p: int = 0, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k, s, p, groups=groups, bias=False), nn.BatchNorm2d(c_out)]


# ResNet as torchvision builds it (He et al. 2015; v1.5: a bottleneck's stride on its 3x3).
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1, self.bn1 = conv_bn(c_in, width, 3, stride, 1)
        self.conv2, self.bn2 = conv_bn(width, width, 3, 1, 1)
        self.downsample = _projection(c_in, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1, self.bn1 = conv_bn(c_in, width, 1)
        self.conv2, self.bn2 = conv_bn(width, width, 3, stride, 1)
        self.conv3, self.bn3 = conv_bn(width, width * 4, 1)
        self.downsample = _projection(c_in, width * 4, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))


def _projection(c_in: int, c_out: int, stride: int) -> nn.Module | None:
    return nn.Sequential(*conv_bn(c_in, c_out, 1, stride)) if stride != 1 or c_in != c_out else None


class ResNet(nn.Module):
    def __init__(self, block: type[BasicBlock | Bottleneck], layers: list[int], classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(*conv_bn(3, 64, 7, 2, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        stages, c_in = [], 64
        for index, (width, count) in enumerate(zip((64, 128, 256, 512), layers)):
            blocks = []
            for i in range(count):
                blocks.append(block(c_in, width, 2 if i == 0 and index > 0 else 1))
                c_in = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(c_in, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def resnet50() -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3])


def resnet18() -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2])


class KerasSamePad(nn.Module):
    """Keras' padding='same' at stride 1: the odd pixel of an even kernel goes bottom/right."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.sides = ((k - 1) // 2, k - 1 - (k - 1) // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        before, after = self.sides
        return F.pad(x, (before, after, before, after))


class KerasIdentityBlock(nn.Module):
    """The course's week-2 `identity_block(X, f, filters)` (Keras Conv2D: bias on; BatchNormalization)."""

    def __init__(self, c_in: int, f: int, filters: tuple[int, int, int]) -> None:
        super().__init__()
        f1, f2, f3 = filters
        self.main = nn.Sequential(
            nn.Conv2d(c_in, f1, 1), nn.BatchNorm2d(f1), nn.ReLU(),
            KerasSamePad(f), nn.Conv2d(f1, f2, f), nn.BatchNorm2d(f2), nn.ReLU(),
            nn.Conv2d(f2, f3, 1), nn.BatchNorm2d(f3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.main(x) + x)


class KerasConvolutionalBlock(nn.Module):
    """The course's `convolutional_block(X, f, filters, s=2)`: the stride on the first 1x1, as in the paper."""

    def __init__(self, c_in: int, f: int, filters: tuple[int, int, int], s: int = 2) -> None:
        super().__init__()
        f1, f2, f3 = filters
        self.main = nn.Sequential(
            nn.Conv2d(c_in, f1, 1, s), nn.BatchNorm2d(f1), nn.ReLU(),
            KerasSamePad(f), nn.Conv2d(f1, f2, f), nn.BatchNorm2d(f2), nn.ReLU(),
            nn.Conv2d(f2, f3, 1), nn.BatchNorm2d(f3))
        self.shortcut = nn.Sequential(nn.Conv2d(c_in, f3, 1, s), nn.BatchNorm2d(f3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.main(x) + self.shortcut(x))


class InceptionModule(nn.Module):
    """The lecture's inception module (2.6): four branches concatenated along channels."""

    def __init__(self, c_in: int, b1: int, b3: tuple[int, int], b5: tuple[int, int], pool: int,
                 bottleneck: bool = True) -> None:
        super().__init__()
        self.b1 = nn.Sequential(nn.Conv2d(c_in, b1, 1), nn.ReLU())
        self.b3 = nn.Sequential(nn.Conv2d(c_in, b3[0], 1), nn.ReLU(), nn.Conv2d(b3[0], b3[1], 3, padding=1), nn.ReLU())
        five = [nn.Conv2d(c_in, b5[0], 1), nn.ReLU(), nn.Conv2d(b5[0], b5[1], 5, padding=2)] if bottleneck \
            else [nn.Conv2d(c_in, b5[1], 5, padding=2)]
        self.b5 = nn.Sequential(*five, nn.ReLU())
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(c_in, pool, 1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)


def lecture_inception(bottleneck: bool = True) -> InceptionModule:
    return InceptionModule(192, 64, (96, 128), (16, 32), 32, bottleneck)


def conv1d_lecture() -> nn.Sequential:
    """Lecture "1D and 3D generalizations": a 14x1 signal, 16 filters of length 5 (-> 10x16),
    then 32 filters of 5x16 (-> 6x32); a relu between them."""
    return nn.Sequential(nn.Conv1d(1, 16, 5), nn.ReLU(), nn.Conv1d(16, 32, 5))


def conv3d_lecture() -> nn.Sequential:
    """The same lecture's 3-D case: 14x14x14x1, 16 filters of 5x5x5 (-> 10x10x10x16), then 32 (-> 6x6x6x32)."""
    return nn.Sequential(nn.Conv3d(1, 16, 5), nn.ReLU(), nn.Conv3d(16, 32, 5))


class CourseResNet50(nn.Module):
    """The course's Keras `ResNet50(input_shape=(64, 64, 3), classes=6)` (week 2 assignment, the SIGNS data):
    zero padding 3, a 7x7 stride-2 conv with bias, max pooling, four stages of the course's blocks
    (stride on the first 1x1), a 2x2 average pooling, flatten and a softmax dense layer."""

    def __init__(self, classes: int = 6) -> None:
        super().__init__()
        stages, c_in = [], 64
        for filters, count, stride in (((64, 64, 256), 3, 1), ((128, 128, 512), 4, 2),
                                       ((256, 256, 1024), 6, 2), ((512, 512, 2048), 3, 2)):
            stages.append(KerasConvolutionalBlock(c_in, 3, filters, stride))
            stages += [KerasIdentityBlock(filters[2], 3, filters) for _ in range(count - 1)]
            c_in = filters[2]
        self.body = nn.Sequential(nn.ZeroPad2d(3), nn.Conv2d(3, 64, 7, 2), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2), *stages, nn.AvgPool2d(2), nn.Flatten(),
                                  nn.Linear(2048, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
