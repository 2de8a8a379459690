"""Hand-written torch twins of the course's larger networks (see twins.py).

MobileNet v2, GoogLeNet and SqueezeNet 1.0 follow torchvision's source layer for layer
(torchvision is not imported: it does not load beside the CPU torch wheel);
the U-Net follows the course's week-3 Keras notebook (`unet_model`).
"""

from __future__ import annotations

import torch
from torch import nn
from twins import conv_bn

# (expansion t, output channels c, repeats n, first stride s): Sandler et al. 2018, table 2
MOBILENET_V2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                (6, 320, 1, 1)]


class InvertedResidual(nn.Module):
    """Expand 1x1 (unless t = 1), depthwise 3x3, linear 1x1 projection; a residual add when shapes allow."""

    def __init__(self, c_in: int, c_out: int, stride: int, t: int) -> None:
        super().__init__()
        hidden = c_in * t
        expand = [*conv_bn(c_in, hidden, 1), nn.ReLU6()] if t != 1 else []
        self.conv = nn.Sequential(*expand, *conv_bn(hidden, hidden, 3, stride, 1, groups=hidden), nn.ReLU6(),
                                  *conv_bn(hidden, c_out, 1))
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [*conv_bn(3, 32, 3, 2, 1), nn.ReLU6()]
        c_in = 32
        for t, c, n, s in MOBILENET_V2:
            for i in range(n):
                layers.append(InvertedResidual(c_in, c, s if i == 0 else 1, t))
                c_in = c
        layers += [*conv_bn(c_in, 1280, 1), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


def double_conv(c_in: int, n: int) -> list[nn.Module]:
    """Two 3x3 'same' convolutions with relu (Keras Conv2D: bias on)."""
    return [nn.Conv2d(c_in, n, 3, padding=1), nn.ReLU(), nn.Conv2d(n, n, 3, padding=1), nn.ReLU()]


class UpBlock(nn.Module):
    """`upsampling_block`: Conv2DTranspose(n, 3, strides=2, padding='same') doubles H and W;
    then concatenate([up, skip]) and two 3x3 convs."""

    def __init__(self, c_in: int, c_skip: int, n: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, n, 3, stride=2, padding=1, output_padding=1)
        self.convs = nn.Sequential(*double_conv(n + c_skip, n))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.convs(torch.cat([self.up(x), skip], dim=1))


class UNet(nn.Module):
    """The course's `unet_model(input_size=(96, 128, 3), n_filters=32, n_classes=23)`."""

    def __init__(self, c_in: int = 3, n: int = 32, classes: int = 23) -> None:
        super().__init__()
        widths = [n, 2 * n, 4 * n, 8 * n, 16 * n]
        self.down = nn.ModuleList()
        for index, width in enumerate(widths):
            dropout = [nn.Dropout(0.3)] if index >= 3 else []  # cblock4 and cblock5: dropout_prob=0.3
            self.down.append(nn.Sequential(*double_conv(c_in, width), *dropout))
            c_in = width
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(UpBlock(widths[i + 1], widths[i], widths[i])
                                for i in reversed(range(4)))
        self.head = nn.Sequential(nn.Conv2d(n, n, 3, padding=1), nn.ReLU(), nn.Conv2d(n, classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for index, block in enumerate(self.down):
            x = block(x)
            if index < 4:  # cblock5 has max_pooling=False
                skips.append(x)
                x = self.pool(x)
        for block, skip in zip(self.up, reversed(skips)):
            x = block(x, skip)
        return self.head(x)


class BasicConv2d(nn.Sequential):
    """torchvision's GoogLeNet unit: conv without bias, batchnorm (eps 0.001), relu."""

    def __init__(self, c_in: int, c_out: int, k: int, s: int = 1, p: int = 0) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, k, s, p, bias=False), nn.BatchNorm2d(c_out, eps=0.001), nn.ReLU())


class GoogLeNetInception(nn.Module):
    """torchvision's Inception: its "5x5" branch really uses a 3x3 kernel (a known quirk kept for weights)."""

    def __init__(self, c_in: int, b1: int, r3: int, b3: int, r5: int, b5: int, pool: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(c_in, b1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(c_in, r3, 1), BasicConv2d(r3, b3, 3, p=1))
        self.branch3 = nn.Sequential(BasicConv2d(c_in, r5, 1), BasicConv2d(r5, b5, 3, p=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), BasicConv2d(c_in, pool, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


GOOGLENET = {"3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64),
             "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
             "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
             "4e": (528, 256, 160, 320, 32, 128, 128), "5a": (832, 256, 160, 320, 32, 128, 128),
             "5b": (832, 384, 192, 384, 48, 128, 128)}


class GoogLeNet(nn.Module):
    """torchvision's googlenet(aux_logits=False, transform_input=False)."""

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        def pool(k: int = 3) -> nn.Module:
            return nn.MaxPool2d(k, 2, ceil_mode=True)

        def stage(*names: str) -> list[nn.Module]:
            return [GoogLeNetInception(*GOOGLENET[name]) for name in names]

        self.features = nn.Sequential(
            BasicConv2d(3, 64, 7, 2, 3), pool(), BasicConv2d(64, 64, 1), BasicConv2d(64, 192, 3, p=1), pool(),
            *stage("3a", "3b"), pool(), *stage("4a", "4b", "4c", "4d", "4e"), pool(2), *stage("5a", "5b"))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1)
        return self.fc(self.dropout(x))


class Fire(nn.Module):
    """torchvision.models.squeezenet.Fire."""

    def __init__(self, c_in: int, squeeze: int, e1: int, e3: int) -> None:
        super().__init__()
        self.squeeze, self.squeeze_activation = nn.Conv2d(c_in, squeeze, 1), nn.ReLU(inplace=True)
        self.expand1x1, self.expand1x1_activation = nn.Conv2d(squeeze, e1, 1), nn.ReLU(inplace=True)
        self.expand3x3, self.expand3x3_activation = nn.Conv2d(squeeze, e3, 3, padding=1), nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """torchvision.models.squeezenet1_0 (version "1_0"), num_classes=1000."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(512, 64, 256, 256))
        self.classifier = nn.Sequential(nn.Dropout(p=0.5), nn.Conv2d(512, 1000, kernel_size=1), nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


def _divisible(v: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible: the nearest multiple of 8, never 10% below v."""
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


def conv_bn_act(c_in: int, c_out: int, k: int, s: int = 1, groups: int = 1,
                act: type[nn.Module] | None = None) -> nn.Sequential:
    """torchvision's Conv2dNormActivation with MobileNetV3's norm_layer (BatchNorm2d eps 0.001, momentum 0.01)."""
    layers = [nn.Conv2d(c_in, c_out, k, s, (k - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(c_out, eps=0.001, momentum=0.01)]
    return nn.Sequential(*layers, *([act()] if act else []))


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation with MobileNetV3's hardsigmoid gate."""

    def __init__(self, c: int, squeeze: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(c, squeeze, 1), nn.Conv2d(squeeze, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * nn.functional.hardsigmoid(self.fc2(nn.functional.relu(self.fc1(scale))))


class MobileNetV3Block(nn.Module):
    """torchvision.models.mobilenetv3.InvertedResidual (dilation 1)."""

    def __init__(self, c_in: int, k: int, e: int, c_out: int, se: bool, hs: bool, s: int) -> None:
        super().__init__()
        act = nn.Hardswish if hs else nn.ReLU
        layers: list[nn.Module] = [conv_bn_act(c_in, e, 1, act=act)] if e != c_in else []
        layers.append(conv_bn_act(e, e, k, s, groups=e, act=act))
        layers += [SqueezeExcitation(e, _divisible(e // 4))] if se else []
        layers.append(conv_bn_act(e, c_out, 1))
        self.block = nn.Sequential(*layers)
        self.residual = s == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


# torchvision's _mobilenet_v3_conf("mobilenet_v3_large"): (in, kernel, expanded, out, SE, hardswish, stride)
MOBILENET_V3_LARGE = [(16, 3, 16, 16, False, False, 1), (16, 3, 64, 24, False, False, 2),
                      (24, 3, 72, 24, False, False, 1), (24, 5, 72, 40, True, False, 2),
                      (40, 5, 120, 40, True, False, 1), (40, 5, 120, 40, True, False, 1),
                      (40, 3, 240, 80, False, True, 2), (80, 3, 200, 80, False, True, 1),
                      (80, 3, 184, 80, False, True, 1), (80, 3, 184, 80, False, True, 1),
                      (80, 3, 480, 112, True, True, 1), (112, 3, 672, 112, True, True, 1),
                      (112, 5, 672, 160, True, True, 2), (160, 5, 960, 160, True, True, 1),
                      (160, 5, 960, 160, True, True, 1)]


class MobileNetV3(nn.Module):
    """torchvision.models.mobilenet_v3_large(): 5,483,032 parameters."""

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential(conv_bn_act(3, 16, 3, 2, act=nn.Hardswish),
                                      *(MobileNetV3Block(*row) for row in MOBILENET_V3_LARGE),
                                      conv_bn_act(160, 960, 1, act=nn.Hardswish))
        self.classifier = nn.Sequential(nn.Linear(960, 1280), nn.Hardswish(), nn.Dropout(0.2),
                                        nn.Linear(1280, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class LayerNorm2d(nn.LayerNorm):
    """torchvision.models.convnext.LayerNorm2d: each position's channels, moved last and back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class LayerScale(nn.Module):
    """CNBlock's layer_scale parameter (dim, 1, 1), held in a module of its own so hooks see it run."""

    def __init__(self, dim: int, value: float) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim, 1, 1) * value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x


class CNBlock(nn.Module):
    """torchvision.models.convnext.CNBlock: its pointwise layers are Linear, on channels-last values."""

    def __init__(self, dim: int, layer_scale: float, rate: float) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1, self.pw2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        self.layer_scale = LayerScale(dim, layer_scale)
        self.rate = rate  # torchvision.ops.StochasticDepth(rate, "row")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.dwconv(x).permute(0, 2, 3, 1))
        y = self.layer_scale(self.pw2(nn.functional.gelu(self.pw1(y))).permute(0, 3, 1, 2))
        if self.training and self.rate > 0:
            keep = 1 - self.rate
            y = y * torch.empty([y.shape[0], 1, 1, 1], device=y.device).bernoulli_(keep).div_(keep)
        return y + x


CONVNEXT_TINY = [(96, 192, 3), (192, 384, 3), (384, 768, 9), (768, None, 3)]  # (dim, next dim, blocks)


class ConvNeXt(nn.Module):
    """torchvision.models.convnext_tiny(): 28,589,128 parameters; stochastic depth 0.1, layer scale 1e-6."""

    def __init__(self, classes: int = 1000, depth_rate: float = 0.1) -> None:
        super().__init__()
        total, index = sum(n for _, _, n in CONVNEXT_TINY), 0
        layers: list[nn.Module] = [nn.Conv2d(3, 96, 4, 4), LayerNorm2d(96, eps=1e-6)]
        for dim, after, n in CONVNEXT_TINY:
            for _ in range(n):
                layers.append(CNBlock(dim, 1e-6, depth_rate * index / (total - 1.0)))
                index += 1
            if after is not None:
                layers += [LayerNorm2d(dim, eps=1e-6), nn.Conv2d(dim, after, 2, 2)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(LayerNorm2d(768, eps=1e-6), nn.Flatten(1), nn.Linear(768, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(nn.functional.adaptive_avg_pool2d(self.features(x), 1))
