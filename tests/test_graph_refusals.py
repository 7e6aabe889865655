"""Never guess an architecture: built-in graphs only by weights digest, every layer argument honoured or refused."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pycompress.compress import CompressConfig, compress, compress_state_dict
from pycompress.core.errors import PycompressError
from pycompress.core.graph import Graph, graph_of
from pycompress.frontends.graph_extract import extract_graph
from pycompress.frontends.graph_builtin import infer_graph
from pycompress.hw.plan import kernel_model
from pycompress.frontends.lenet import LeNet5


class TanhLeNet(LeNet5):
    """The classic LeNet-5: same keys and shapes as the built-in, tanh and average pooling."""

    input_shape = (1, 28, 28)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.conv1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(torch.tanh(self.fc2(torch.tanh(self.fc1(x)))))


def test_same_keys_state_dict_gets_no_builtin_graph(lenet_state_dict):
    other = TanhLeNet().state_dict()
    cm = compress_state_dict(other, CompressConfig("bf16"))
    assert cm.graph is None and "not the shipped" in cm.info["no_graph"]
    with pytest.raises(PycompressError, match="not the shipped"):
        kernel_model(cm)
    assert compress_state_dict(lenet_state_dict, CompressConfig("bf16")).graph == infer_graph(lenet_state_dict)
    assert infer_graph(other) is None and infer_graph(other, confirm=True) is not None


def test_tanh_module_gets_its_own_graph():
    """The classic LeNet's tanh and average pools reach the graph (not the built-in's ReLU and max pools)."""
    cm = compress(TanhLeNet(), CompressConfig("bf16"))
    layers = Graph.from_dict(cm.graph).layers
    assert [(l.op, getattr(l, "function", None)) for l in layers if l.op in ("activation", "relu")] == [("activation", "tanh")] * 4
    assert [l.op for l in layers].count("avgpool2d") == 2 and "maxpool2d" not in [l.op for l in layers]


def _seq(*mods, shape=(1, 8, 8)):
    m = nn.Sequential(*mods)
    m.input_shape = shape
    return m


@pytest.mark.parametrize("mod,pattern", [
    (nn.AvgPool2d(2, divisor_override=3), "divisor_override=3"),
    (nn.AvgPool2d(2, ceil_mode=True), "ceil_mode"),
    (nn.AvgPool2d(2, padding=1, count_include_pad=False), "count_include_pad=False"),
    (nn.MaxPool2d(2, dilation=2), "dilation"),
    (nn.Conv2d(2, 2, 3, dilation=2), "dilation"),
    (nn.Conv2d(2, 2, 3, groups=2), "groups=2"),
    (nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"), "padding_mode='reflect'"),
    (nn.Conv2d(2, 2, 2, padding="same"), "padding='same' and even kernel"),
    (nn.AdaptiveAvgPool2d(3), "AdaptiveAvgPool2d"),
    (nn.Softplus(), "Softplus"),
])
def test_layer_arguments_are_refused(mod, pattern):
    with pytest.raises(PycompressError, match=pattern):
        extract_graph(_seq(mod, shape=(2, 8, 8)), (2, 8, 8))


class Mul(nn.Module):
    def forward(self, x):
        return x * x


def test_unknown_op_names_the_node():
    with pytest.raises(PycompressError, match=r"node 'mul': op mul"):
        extract_graph(Mul(), (1, 4, 4))


class Identities(nn.Module):
    input_shape = (1, 14, 14)

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, bias=False)
        self.drop = nn.Dropout2d(0.5)
        self.pool = nn.AdaptiveAvgPool2d(3)
        self.fc = nn.Linear(36, 10)
        self.soft = nn.Softmax(dim=1)

    def forward(self, x):
        x = F.max_pool2d(self.drop(self.conv(x)), 2, 2)
        x = self.pool(x).view(-1, 36)
        return self.soft(self.fc(x))


def test_identity_like_layers_are_accepted_and_softmax_is_a_layer():
    g = extract_graph(Identities(), (1, 14, 14))
    assert [l.op for l in g.layers] == ["conv2d", "maxpool2d", "avgpool2d", "flatten", "linear", "softmax"]
    assert g.layers[0].bias is None and g.layers[2].kernel == 2
    cm = compress(Identities(), CompressConfig("fp32"))
    assert cm.graph is not None and Graph.from_dict(cm.graph).layers[-1].op == "softmax"


def test_old_version_1_graph_still_reads_and_bad_inputs_refused():
    g = extract_graph(LeNet5(), (1, 28, 28))
    d = g.to_dict()
    assert d["version"] == 1 and "inputs" not in d["layers"][0]
    assert Graph.from_dict(d) == g
    bad = {**d, "version": 2, "layers": [{"op": "add", "name": "a", "inputs": ["@input", "nope"]}]}
    with pytest.raises(PycompressError, match="'nope' is not an earlier layer"):
        Graph.from_dict(bad)
    with pytest.raises(PycompressError, match="unknown layer op 'add'"):
        Graph.from_dict({**bad, "version": 1})
    with pytest.raises(PycompressError, match="version 3"):
        Graph.from_dict({**d, "version": 3})
    assert graph_of(d) == g


class Wide(nn.Module):
    input_shape = (3, 128, 128)

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


def test_generate_refuses_a_kernel_over_the_board(tmp_path):
    from pycompress.hw.hls.writer import generate

    cm = compress(Wide(), CompressConfig("bf16"))
    with pytest.raises(PycompressError, match="does not fit zedboard.*BRAM18K"):
        generate(cm, tmp_path / "hls", progress=False)
    assert not (tmp_path / "hls").exists()
