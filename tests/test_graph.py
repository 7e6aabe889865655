"""Layer graph: extraction with torch.fx, BN folding, JSON, attachment by compress, refusals."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from pycompress.compress import CompressConfig, compress, compress_state_dict
from pycompress.frontends.digits_cnn import DigitsCNN
from pycompress.core.errors import PycompressError
from pycompress.core.graph import Conv2d, Graph, Linear, graph_of
from pycompress.frontends.graph_extract import extract_graph, fold_batchnorm
from pycompress.frontends.graph_builtin import graph_for, infer_graph
from pycompress.frontends.lenet import LeNet5


def test_lenet_graph_from_module_and_state_dict_agree():
    g = extract_graph(LeNet5(), (1, 28, 28), "mnist28")
    assert [l.op for l in g.layers] == ["conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d", "flatten",
                                       "linear", "relu", "linear", "relu", "linear"]
    assert g.shapes()[-1] == (10,) and g.input_size == 784
    assert infer_graph(LeNet5().state_dict()) is None  # same keys, not the shipped weights: never guessed
    assert infer_graph(LeNet5().state_dict(), confirm=True) == g.to_dict()
    assert Graph.from_dict(g.to_dict()) == g


def test_compress_state_dict_attaches_lenet_graph_only_for_lenet(lenet_state_dict):
    cm = compress_state_dict(lenet_state_dict, CompressConfig("bf16"))
    assert graph_of(cm.graph).dataset == "mnist28"
    other = {"w": torch.randn(4, 4)}
    assert compress_state_dict(other, CompressConfig("bf16")).graph is None
    with pytest.raises(PycompressError, match="no layer graph"):
        graph_of(None)


def test_fold_batchnorm_keeps_the_function():
    torch.manual_seed(0)
    m = DigitsCNN()
    with torch.no_grad():  # non-trivial running statistics
        for bn in (m.bn1, m.bn2):
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    m.eval()
    folded = fold_batchnorm(m)
    x = torch.rand(16, 1, 8, 8)
    assert torch.allclose(m(x), folded(x), atol=1e-5)
    assert not any(k.startswith("bn") for k in folded.state_dict())
    assert "conv1.bias" in folded.state_dict()  # conv1 had no bias before folding


def test_compress_module_folds_bn_and_attaches_graph():
    cm = compress(DigitsCNN(), CompressConfig("fp32"))
    g = graph_of(cm.graph)
    assert g.dataset == "digits8" and g.input_shape == (1, 8, 8)
    conv2 = next(l for l in g.layers if l.name == "conv2")
    assert isinstance(conv2, Conv2d) and conv2.stride == 2 and conv2.padding == (1, 1)
    assert "bn1.running_mean" not in cm.order
    assert graph_for(DigitsCNN()) == cm.graph


class Gated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x):
        return x * self.conv(x)


class WithLSTM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.rnn = nn.LSTM(4, 4)

    def forward(self, x):
        return self.rnn(self.fc(x))


@pytest.mark.parametrize("module,shape,pattern", [(Gated(), (1, 8, 8), r"node 'mul': op mul"),
                                                  (WithLSTM(), (4,), r"'rnn' of type LSTM")])
def test_unsupported_layers_are_named(module, shape, pattern):
    with pytest.raises(PycompressError, match=pattern):
        extract_graph(module, shape)
    with pytest.raises(PycompressError, match=pattern):
        graph_for(module, input_shape=shape)
    assert compress(module, CompressConfig("fp32")).graph is None  # compression still works, without a graph


def test_shape_mismatch_and_bad_json():
    bad = Graph((1, 28, 28), (Linear("fc", "fc.weight", None, 10, 2),))
    with pytest.raises(PycompressError, match="Linear expects"):
        bad.shapes()
    with pytest.raises(PycompressError, match="unknown layer op 'lstm'"):
        Graph.from_dict({"input_shape": [4], "layers": [{"op": "lstm", "name": "rnn"}]})
