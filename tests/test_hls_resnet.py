"""A small ResNet (two residual blocks, BatchNorm, global average pooling, BatchNorm1d after a Linear)
through compress(module) -> generate -> csim: bit-exact against the numpy reference, top-1 as PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pycompress.compress import CompressConfig, compress
from pycompress.core.graph import Graph, graph_of
from pycompress.frontends.graph_extract import extract_graph, fold_batchnorm
from pycompress.hw.plan import kernel_model
from pycompress.hw.hls.csim import run_csim
from pycompress.hw.hls.reference import reference_forward
from pycompress.hw.hls.writer import generate


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.down is None else self.down(x)))


class TinyResNet(nn.Module):
    input_shape = (1, 8, 8)

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.block1 = Block(8, 8, 1)
        self.block2 = Block(8, 16, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(16, 16)
        self.bn1d = nn.BatchNorm1d(16)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.block2(self.block1(self.relu(self.bn(self.stem(x)))))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(self.drop(torch.relu(self.bn1d(self.fc1(x)))))


def tiny_resnet() -> TinyResNet:
    torch.manual_seed(0)
    m = TinyResNet()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for mod in m.modules():
            if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    return m.eval()


def test_graph_has_residual_adds_and_gap():
    m = tiny_resnet()
    folded = fold_batchnorm(m)
    x = torch.rand(32, 1, 8, 8)
    assert torch.allclose(m(x), folded(x), atol=1e-5)
    g = extract_graph(folded, (1, 8, 8))
    ops = [l.op for l in g.layers]
    assert ops.count("add") == 2 and "globalavgpool" in ops and "batchnorm1d" not in ops
    d = g.to_dict()
    assert d["version"] == 2 and Graph.from_dict(d) == g
    params = {k: v.numpy() for k, v in folded.state_dict().items()}
    ref = reference_forward(g, params, x.numpy())
    assert np.allclose(ref, folded(x).detach().numpy(), atol=1e-4)


@pytest.mark.csim
def test_resnet_compress_generate_csim(tmp_path, capsys):
    cm = compress(tiny_resnet(), CompressConfig("bf16"))
    assert graph_of(cm.graph).input_shape == (1, 8, 8)
    assert sum(1 for _ in cm.tensors) >= 6 and 2000 < sum(t.numel() for t in tiny_resnet().parameters()) < 10000
    generate(cm, tmp_path / "hls")
    cpp = (tmp_path / "hls" / "firmware" / "pycompress_top.cpp").read_text()
    assert "static float a0[" in cpp and cpp.count("_add(") >= 2
    r = run_csim(tmp_path / "hls", images=64, progress=False)
    assert r.weights_bit_exact and r.outputs_bit_exact, r.first_difference
    assert r.top1_agreement_pct == 100.0
    km = kernel_model(cm)
    x = np.random.default_rng(1).random((64, 1, 8, 8), dtype=np.float32)
    folded = fold_batchnorm(tiny_resnet())
    bf16 = {k: torch.from_numpy(v) for k, v in km.params.items()}
    folded.load_state_dict(bf16, strict=False)
    with torch.no_grad():
        want = folded(torch.from_numpy(x)).numpy()
    got = reference_forward(km.graph, km.params, x)
    assert np.mean(want.argmax(1) == got.argmax(1)) >= 0.95  # the user's own module, not a rebuilt one
