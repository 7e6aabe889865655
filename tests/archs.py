"""The shared architecture suite of the front-end contract (issue 24): the kinds of network a user
brings (MLP, VGG with batch norm, residual, functional style, stride-2 and bias-free convolutions,
non-square and colour inputs, every activation, batch norm in odd places, a final softmax) and
the ones the hardware truly lacks (depthwise, dilation, ceil_mode, concatenation). Each is run
through the nn.Module, `.pt2` and ONNX front ends by tests/test_frontend_contract.py.

`HW` says whether the network has a layer graph: None when every layer has hardware, else a
pattern of the one-line reason.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


_SEED = [0]


def _bn(c: int, d: int = 2) -> nn.Module:
    bn = nn.BatchNorm2d(c) if d == 2 else nn.BatchNorm1d(c)
    _SEED[0] += 1
    g = torch.Generator().manual_seed(_SEED[0])
    with torch.no_grad():  # trained-looking statistics: folding is not the identity
        bn.weight.copy_(1 + 0.2 * torch.randn(c, generator=g))
        bn.bias.copy_(0.1 * torch.randn(c, generator=g))
        bn.running_mean.copy_(0.1 * torch.randn(c, generator=g))
        bn.running_var.copy_(1 + 0.3 * torch.rand(c, generator=g))
    return bn


class MLP(nn.Module):
    input_shape = (1, 8, 8)
    HW = None

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(64, 32), nn.Linear(32, 16), nn.Linear(16, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class VGGBN(nn.Module):
    """Colour input, conv-BN-ReLU blocks, max pools."""

    input_shape = (3, 16, 16)
    HW = None

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), _bn(8), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 8, 3, padding=1, bias=False), _bn(8), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(8 * 4 * 4, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), _bn(cout)
        self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), _bn(cout)
        self.short = None if stride == 1 and cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                                              _bn(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.short is None else self.short(x)))


class ResNet(nn.Module):
    """Residual blocks, a stride-2 block with a 1x1 shortcut, global pooling by x.mean((2, 3))."""

    input_shape = (3, 12, 12)
    HW = None

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.bn = nn.Conv2d(3, 8, 3, padding=1, bias=False), _bn(8)
        self.layer1, self.layer2 = Block(8, 8, 1), Block(8, 16, 2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(F.relu(self.bn(self.stem(x)))))
        return self.fc(x.mean((2, 3)))


class Functional(nn.Module):
    """Functional style, non-square input, stride-2 bias-free conv, F.max_pool2d, view(x.size(0), -1)."""

    input_shape = (1, 12, 16)
    HW = None

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 3, stride=2, padding=1, bias=False)
        self.c2 = nn.Conv2d(6, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 3 * 4, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c2(F.relu(self.c1(x)))), 2)
        return self.fc(x.view(x.size(0), -1))


class LeakyGAP(nn.Module):
    """Colour CNN, LeakyReLU, global average pooling by AdaptiveAvgPool2d(1)."""

    input_shape = (3, 10, 10)
    HW = None

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(3, 8, 3, padding="same"), nn.Conv2d(8, 12, 3)
        self.act, self.pool, self.fc = nn.LeakyReLU(0.1), nn.AdaptiveAvgPool2d(1), nn.Linear(12, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.act(self.c2(self.act(self.c1(x))))), 1))


class TanhLeNet(nn.Module):
    """The classic LeNet: tanh and average pooling."""

    input_shape = (1, 16, 16)
    HW = None

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 4, 5), nn.Conv2d(4, 8, 3)
        self.f1, self.f2 = nn.Linear(8 * 2 * 2, 16), nn.Linear(16, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.c2(x)), 2)
        return self.f2(torch.tanh(self.f1(torch.flatten(x, 1))))


class GeluSoftmax(nn.Module):
    """GELU (erf) and a final Softmax."""

    input_shape = (1, 8, 8)
    HW = None

    def __init__(self) -> None:
        super().__init__()
        self.c, self.fc1, self.fc2 = nn.Conv2d(1, 4, 3), nn.Linear(4 * 6 * 6, 24), nn.Linear(24, 10)
        self.gelu, self.soft = nn.GELU(), nn.Softmax(dim=1)

    def forward(self, x):
        x = torch.flatten(self.gelu(self.c(x)), 1)
        return self.soft(self.fc2(self.gelu(self.fc1(x))))


class SiluSame(nn.Module):
    """SiLU, padding='same', sigmoid, GELU(approximate='tanh')."""

    input_shape = (2, 8, 8)
    HW = None

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(2, 6, 5, padding="same"), nn.Conv2d(6, 6, 3, padding="same")
        self.fc = nn.Linear(6 * 4 * 4, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.sigmoid(self.c2(F.silu(self.c1(x)))), 2)
        return self.fc(F.gelu(torch.flatten(x, 1), approximate="tanh"))


class HardActs(nn.Module):
    """Hardswish, Hardsigmoid, ReLU6, Hardtanh (the piecewise-linear activations)."""

    input_shape = (1, 10, 10)
    HW = None

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 6, 3), nn.Conv2d(6, 6, 3)
        self.fc1, self.fc2 = nn.Linear(6 * 6 * 6, 20), nn.Linear(20, 10)
        self.hs, self.r6 = nn.Hardswish(), nn.ReLU6()

    def forward(self, x):  # no two clamps in a row: an exporter may merge them into one (the same function)
        x = F.hardtanh(self.c2(self.hs(self.c1(x))), -0.5, 4.0)
        return F.hardsigmoid(self.fc2(self.r6(self.fc1(torch.flatten(x, 1)))))


class BNAnywhere(nn.Module):
    """Batch norm on the input (before a padded conv: kept as scale-and-shift), after a ReLU (before an
    unpadded conv: folded forward), after a pool (before a padded conv: kept), a BatchNorm1d before a Linear
    (folded forward)."""

    input_shape = (2, 12, 12)
    HW = None

    def __init__(self) -> None:
        super().__init__()
        self.bn_in, self.c1 = _bn(2), nn.Conv2d(2, 6, 3, padding=1)
        self.bn_relu, self.c2 = _bn(6), nn.Conv2d(6, 6, 3)
        self.bn_pool, self.c3 = _bn(6), nn.Conv2d(6, 4, 3, padding=1)
        self.bn1d, self.fc = _bn(100, 1), nn.Linear(100, 10)

    def forward(self, x):
        x = F.relu(self.c1(self.bn_in(x)))
        x = F.max_pool2d(F.relu(self.c2(self.bn_relu(x))), 2)
        x = F.relu(self.c3(self.bn_pool(x)))
        return self.fc(self.bn1d(torch.flatten(x, 1)))


class StemPool(nn.Module):
    """The ResNet stem: stride-2 conv, BN, ReLU, MaxPool2d(3, 2, padding=1); an AvgPool2d with padding; GAP."""

    input_shape = (3, 16, 16)
    HW = None

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), _bn(8)
        self.pool, self.avg = nn.MaxPool2d(3, 2, padding=1), nn.AvgPool2d(3, 1, padding=1)
        self.gap, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(8, 10)

    def forward(self, x):
        x = self.avg(self.pool(F.relu(self.bn(self.conv(x)))))
        return self.fc(torch.flatten(self.gap(x), 1))


class Depthwise(nn.Module):
    input_shape = (4, 8, 8)
    HW = "groups=4"

    def __init__(self) -> None:
        super().__init__()
        self.dw, self.pw, self.fc = nn.Conv2d(4, 4, 3, groups=4), nn.Conv2d(4, 8, 1), nn.Linear(8 * 6 * 6, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.relu(self.pw(F.relu(self.dw(x)))), 1))


class Dilated(nn.Module):
    input_shape = (1, 12, 12)
    HW = "dilation"

    def __init__(self) -> None:
        super().__init__()
        self.c, self.fc = nn.Conv2d(1, 4, 3, dilation=2), nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.max_pool2d(F.relu(self.c(x)), 2), 1))


class CeilPool(nn.Module):
    input_shape = (1, 9, 9)
    HW = "ceil_mode"

    def __init__(self) -> None:
        super().__init__()
        self.c, self.pool, self.fc = nn.Conv2d(1, 4, 3), nn.MaxPool2d(2, ceil_mode=True), nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(F.relu(self.c(x))), 1))


class Concat(nn.Module):
    """Channel concatenation: no layer graph from any front end; the programs still run as they are."""

    input_shape = (1, 8, 8)
    HW = "cat|Concat"

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.fc = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(1, 4, 1), nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.relu(torch.cat([self.a(x), self.b(x)], 1)), 1))


ARCHS = {cls.__name__: cls for cls in (MLP, VGGBN, ResNet, Functional, LeakyGAP, TanhLeNet, GeluSoftmax, SiluSame,
                                       HardActs, BNAnywhere, StemPool, Depthwise, Dilated, CeilPool, Concat)}
FAST = ("ResNet", "Depthwise", "BNAnywhere", "GeluSoftmax")  # the default run's subset; the rest is marked long


def make(name: str) -> nn.Module:
    """The same weights on every call."""
    torch.manual_seed(len(name))
    _SEED[0] = 0
    return ARCHS[name]().eval()
