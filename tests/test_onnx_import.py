"""ONNX models (.onnx) as model files (issue 14, item 1): parsed as data, rebuilt as torch layers, checked
against onnxruntime, through the CLI; unsupported ops, attributes and hostile files fail in one line."""
from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import REPO

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from pycompress.core.errors import PycompressError  # noqa: E402
from pycompress.frontends import load_model  # noqa: E402

PT2 = REPO / "examples" / "resnet_mnist" / "resnet_mnist.pt2"


def _resnet_module() -> torch.nn.Module:
    """The worked example's ResNet class with the shipped .pt2's weights (batch norm unfolded)."""
    spec = importlib.util.spec_from_file_location("train_export", REPO / "examples" / "resnet_mnist" / "train_export.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.ResNetMNIST()
    model.load_state_dict(torch.export.load(str(PT2)).state_dict)
    return model.eval()


def _export(module: torch.nn.Module, path: Path, shape: tuple[int, ...], dynamo: bool = False) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = {} if dynamo else {"do_constant_folding": False, "input_names": ["x"], "dynamic_axes": {"x": {0: "batch"}}}
        torch.onnx.export(module, (torch.zeros(1, *shape),), str(path), dynamo=dynamo, **kw)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """LeNet (legacy exporter: Flatten, Gemm) and the ResNet (legacy, batch norm kept as BatchNormalization nodes)."""
    from pycompress.frontends.lenet import load_lenet
    from pycompress.frontends.shipped import default_lenet

    d = tmp_path_factory.mktemp("onnx")
    return {"dir": d, "lenet": _export(load_lenet(default_lenet()), d / "lenet.onnx", (1, 28, 28)),
            "resnet": _export(_resnet_module(), d / "resnet.onnx", (1, 28, 28))}


def test_lenet_onnx_has_the_shipped_weights_and_its_own_graph(files, lenet_state_dict):
    m = load_model(str(files["lenet"]))
    assert m.kind == "export" and m.trainable and m.input_shape == (1, 28, 28) and m.notes == ()
    assert sorted(m.state_dict) == sorted(lenet_state_dict)
    for k, v in lenet_state_dict.items():
        assert np.array_equal(m.state_dict[k].numpy().view(np.uint32), v.numpy().view(np.uint32)), k
    ops = [layer["op"] for layer in m.graph["layers"]]
    assert ops == ["conv2d", "relu", "maxpool2d", "conv2d", "relu", "maxpool2d", "flatten",
                   "linear", "relu", "linear", "relu", "linear"]


def test_resnet_onnx_folds_batch_norm_like_the_pt2(files):
    """Same weights after folding (the .pt2 path's fold), same outputs on any batch size."""
    got, want = load_model(str(files["resnet"])), load_model(str(PT2))
    assert "batch norm: 9 folded into the preceding layer" in got.notes
    assert sorted(got.state_dict) == sorted(want.state_dict)
    for k in want.state_dict:
        assert torch.equal(got.state_dict[k], want.state_dict[k]), k
    assert [layer["op"] for layer in got.graph["layers"]] == [layer["op"] for layer in want.graph["layers"]]
    x = torch.randn(5, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(got.build(got.state_dict)(x), want.build(want.state_dict)(x))


def test_dynamo_export_reduce_mean_and_fixed_batch_reshape(tmp_path):
    """torch.onnx's default exporter: BN folded by the exporter (`stem.weight_bias`), ReduceMean, Reshape to [1, 64]."""
    pytest.importorskip("onnxscript")
    path = _export(_resnet_module(), tmp_path / "dyn.onnx", (1, 28, 28), dynamo=True)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"ReduceMean", "Reshape"} <= ops and "BatchNormalization" not in ops
    got, want = load_model(str(path)), load_model(str(PT2))
    assert sorted(got.state_dict) == sorted(want.state_dict)  # `stem.weight_bias` lands at `stem.bias`
    assert got.graph is not None and got.graph["layers"][-3]["op"] == "globalavgpool"
    x = torch.randn(7, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.allclose(got.build(got.state_dict)(x), want.build(want.state_dict)(x), rtol=1e-4, atol=1e-5)


# ---- hand-built graphs: every mapped attribute checked against onnxruntime by the loader ---------------------

def _model(nodes, inits, in_shape, out_shape, name="m.onnx", folder: Path | None = None, batch="N") -> Path:
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, *in_shape])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, *out_shape])],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    path = folder / name
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


def _w(*shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed + len(shape)).standard_normal(shape).astype(np.float32)


def test_attributes_map_onto_torch_layers_checked_against_onnxruntime(tmp_path):
    """Pads, strides, count_include_pad, group, dilation, MatMul+Add, BatchNorm after a Linear, Dropout, Softmax:
    the loader's own onnxruntime check would fail on any mis-mapped attribute (see the next test)."""
    n = helper.make_node
    nodes = [n("Conv", ["x", "c1.weight", "c1.bias"], ["a"], name="c1", pads=[1, 1, 1, 1], strides=[2, 2]),
             n("Relu", ["a"], ["b"], name="r1"),
             n("AveragePool", ["b"], ["c"], name="p1", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1],
               count_include_pad=1),
             n("Conv", ["c", "c2.weight"], ["d"], name="c2", group=2, dilations=[2, 2], pads=[2, 2, 2, 2]),
             n("MaxPool", ["d"], ["e"], name="p2", kernel_shape=[2, 2], strides=[2, 2]),
             n("Flatten", ["e"], ["f"], name="fl"),
             n("MatMul", ["f", "fc.weight"], ["g"], name="mm"), n("Add", ["g", "fc.bias"], ["h"], name="bias"),
             n("BatchNormalization", ["h", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"], ["i"],
               name="bn", epsilon=1e-3),
             n("Dropout", ["i"], ["j"], name="drop"), n("Softmax", ["j"], ["y"], name="sm", axis=1)]
    inits = {"c1.weight": _w(4, 2, 3, 3), "c1.bias": _w(4), "c2.weight": _w(4, 2, 3, 3, seed=1),
             "fc.weight": _w(16, 5), "fc.bias": _w(5, seed=2), "bn.weight": _w(5, seed=3), "bn.bias": _w(5, seed=4),
             "bn.running_mean": _w(5, seed=5), "bn.running_var": np.abs(_w(5, seed=6)) + 0.5}
    m = load_model(str(_model(nodes, inits, (2, 8, 8), (5,), folder=tmp_path)))
    assert set(m.state_dict) == {"c1.weight", "c1.bias", "c2.weight", "fc.weight", "fc.bias"}  # BN folded into fc
    # torch runs it; the hardware does not (the padded average pool counting its zeros is in the graph since issue 24)
    assert m.graph is None and "'c2'" in m.graph_note and "dilation" in m.graph_note


@pytest.mark.parametrize("tail", ["keepdims", "squeeze", "reshape0"])
def test_pooling_and_flatten_forms_reach_the_hardware_graph(tmp_path, tail):
    """ReduceMean over (H, W) with or without keepdims, Squeeze, Reshape with a 0 (copy) dim; Gemm with transB 0/1."""
    n = helper.make_node
    head = [n("Conv", ["x", "c.weight", "c.bias"], ["a"], name="c"), n("Relu", ["a"], ["b"], name="r")]
    inits = {"c.weight": _w(4, 1, 3, 3), "c.bias": _w(4), "g.weight": _w(4, 6), "g.bias": _w(6, seed=1),
             "h.weight": _w(3, 6, seed=2), "h.bias": _w(1, 3, seed=3), "axes": np.array([2, 3], np.int64),
             "shape": np.array([0, -1], np.int64)}
    pool = {"keepdims": [n("ReduceMean", ["b"], ["f"], name="m", axes=[2, 3], keepdims=0)],
            "squeeze": [n("GlobalAveragePool", ["b"], ["p"], name="m"), n("Squeeze", ["p", "axes"], ["f"], name="s")],
            "reshape0": [n("ReduceMean", ["b"], ["p"], name="m", axes=[-2, -1]), n("Reshape", ["p", "shape"], ["f"], name="s")]}
    body = [n("Gemm", ["f", "g.weight", "g.bias"], ["g"], name="g"), n("Relu", ["g"], ["gr"], name="gr"),
            n("Gemm", ["gr", "h.weight", "h.bias"], ["y"], name="h", transB=1)]
    m = load_model(str(_model(head + pool[tail] + body, inits, (1, 6, 6), (3,), folder=tmp_path)))
    assert [layer["op"] for layer in m.graph["layers"]][2:4] == ["globalavgpool", "flatten"], m.graph_note
    assert tuple(m.state_dict["g.weight"].shape) == (6, 4)  # transB=0: stored as nn.Linear's (out, in)


def test_the_onnxruntime_check_catches_a_wrong_rebuild(tmp_path, monkeypatch):
    """count_include_pad is the attribute whose default differs between ONNX (0) and torch (True)."""
    from pycompress.frontends import onnx_import

    nodes = [helper.make_node("AveragePool", ["x"], ["y"], name="p", kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    path = _model(nodes, {}, (1, 6, 6), (1, 6, 6), folder=tmp_path)
    assert load_model(str(path)).graph is None  # loads (padding is refused by the hardware graph only)
    real = torch.nn.AvgPool2d
    monkeypatch.setattr(onnx_import.nn, "AvgPool2d", lambda k, s, p, c, inc: real(k, s, p, c, True))
    with pytest.raises(PycompressError, match="differs from onnxruntime"):
        load_model(str(path))


def test_nan_outputs_pass_the_rebuild_checks(tmp_path):
    """A model whose sums overflow to inf - inf gives NaN in torch and onnxruntime alike: the checks of the
    rebuilt module (against onnxruntime, against the .pt2 program) take NaN as equal to NaN (they called
    such a model an internal error)."""
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(32, 3)).eval()
    with torch.no_grad():
        m[0].weight[0] = torch.tensor([3e38, -3e38] * 4 + [3e38]).reshape(1, 3, 3)
        m[0].weight[0, 0, 1, 1] = 3.4e38
        assert m(torch.randn(2, 1, 6, 6, generator=torch.Generator().manual_seed(0))).isnan().all()
    pt2 = tmp_path / "nan.pt2"
    torch.export.save(torch.export.export(m, (torch.randn(2, 1, 6, 6),)), str(pt2))
    for path in (_export(m, tmp_path / "nan.onnx", (1, 6, 6)), pt2):
        assert load_model(str(path)).graph is not None


@pytest.mark.parametrize("node, why", [
    (helper.make_node("Erf", ["x"], ["y"], name="act"), "node 'act' (Erf): op Erf is not supported"),
    (helper.make_node("HardSigmoid", ["x"], ["y"], name="hs", alpha=0.2), "node 'hs' (HardSigmoid): alpha=0.2"),
    (helper.make_node("Clip", ["x"], ["y"], name="cl"), "node 'cl' (Clip): Clip with bounds None, None"),
    (helper.make_node("Conv", ["x", "w"], ["y"], name="cv", pads=[0, 0, 1, 1]), "node 'cv' (Conv): asymmetric pads"),
    (helper.make_node("Conv", ["x", "w"], ["y"], name="cv", auto_pad="SAME_UPPER", strides=[2, 2]),
     "node 'cv' (Conv): auto_pad=SAME_UPPER pads "),
    (helper.make_node("Conv", ["x", "w"], ["y"], name="cv", foo=1), "node 'cv' (Conv): attribute 'foo'"),
    (helper.make_node("MaxPool", ["x"], ["y", "idx"], name="mp", kernel_shape=[2, 2]), "node 'mp' (MaxPool): the Indices"),
    (helper.make_node("Relu", ["x"], ["y"], name="r", domain="com.microsoft"), "op com.microsoft::Relu"),
    (helper.make_node("Conv", ["x"], ["y"], name="cv"), "node 'cv' (Conv): 1 inputs"),
    (helper.make_node("Conv", ["x", "w"], ["y"], name="cv", strides=[0, 0]), "node 'cv' (Conv): "),
    (helper.make_node("Conv", ["x", "x"], ["y"], name="cv"), "node 'cv' (Conv): weight 'x' is computed in the graph"),
])
def test_unsupported_ops_and_attributes_name_the_node(tmp_path, node, why):
    """A node without a rebuild is named: in the one-line error when onnxruntime cannot run the model either,
    else in the note of a model that runs as it is (weights and evaluation, no layer graph)."""
    path = _model([node], {"w": _w(1, 1, 3, 3)}, (1, 6, 6), (1, 6, 6), folder=tmp_path)
    try:
        m = load_model(str(path))
    except PycompressError as exc:
        text = str(exc)
    else:
        assert m.graph is None and m.build is not None and not m.trainable
        text = m.graph_note
    assert why in text and "\n" not in text


def _one_line_failure(capsys, args: list, *words) -> str:
    """The CLI entry point (in this process: a traceback would fail the test) exits 2 with one line."""
    from pycompress.cli.main import main

    assert main([str(a) for a in args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and all(w in lines[0] for w in words), lines
    return lines[0]


def test_cli_lstm_compresses_and_evaluates_but_has_no_hardware(tmp_path, capsys):
    """An op without a rebuild (LSTM): the weights-only commands and evaluation run the model as it is in
    onnxruntime; generate refuses in one line naming the node."""
    from pycompress.cli.main import main

    lstm = helper.make_node("LSTM", ["x", "W", "R"], ["y"], name="rnn", hidden_size=4)
    path = _model([lstm], {"W": _w(1, 16, 3), "R": _w(1, 16, 4)}, (2, 3), (1, 2, 4), folder=tmp_path)
    assert main(["compress", str(path), "-o", str(tmp_path / "m.pcz"), "--format", "fp32"]) == 0
    assert "node 'rnn' (LSTM)" in capsys.readouterr().err
    m = load_model(str(path))
    x = torch.randn(3, 2, 3)
    with torch.no_grad():
        same = m.build(load_model(str(tmp_path / "m.pcz")).state_dict)(x)
    assert torch.equal(same, m.build(m.state_dict)(x))  # fp32: lossless
    _one_line_failure(capsys, ["generate", tmp_path / "m.pcz", "-o", tmp_path / "hls"], "node 'rnn' (LSTM)")
    assert not (tmp_path / "hls").exists()


def test_hostile_files_fail_in_one_line(files, tmp_path, capsys):
    data = files["lenet"].read_bytes()
    (tmp_path / "trunc.onnx").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.onnx").write_bytes(b"this is not a protobuf message\n" * 10)
    (tmp_path / "secret.bin").write_bytes(np.zeros(9, np.float32).tobytes())
    inner = tmp_path / "model"
    inner.mkdir()
    (inner / "ok.bin").write_bytes(np.zeros(9, np.float32).tobytes())
    (inner / "link.bin").symlink_to(tmp_path / "secret.bin")
    conv = [helper.make_node("Conv", ["x", "w"], ["y"], name="cv")]
    for name, location, length in (("up", "../secret.bin", 36), ("abs", str(tmp_path / "secret.bin"), 36),
                                   ("link", "link.bin", 36), ("short", "ok.bin", 40), ("ok", "ok.bin", 36)):
        path = _model(conv, {"w": _w(1, 1, 3, 3)}, (1, 6, 6), (1, 4, 4), name=f"{name}.onnx", folder=inner)
        m = onnx.load(str(path))
        t = m.graph.initializer[0]
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", "0"), ("length", str(length))):
            t.external_data.add(key=k, value=v)
        path.write_bytes(m.SerializeToString())
    assert load_model(str(inner / "ok.onnx")).state_dict["cv.weight"].abs().sum() == 0  # a proper reference loads
    with pytest.raises(PycompressError, match="not a readable ONNX model"):
        load_model(str(tmp_path / "trunc.onnx"))
    with pytest.raises(PycompressError, match="ONNX"):
        load_model(str(tmp_path / "text.onnx"))
    for name, why in (("up", "not a relative path inside the model's folder"), ("abs", "not a relative path"),
                      ("link", "not a regular file inside the model's folder"), ("short", "does not hold the 36 bytes")):
        with pytest.raises(PycompressError, match=why):
            load_model(str(inner / f"{name}.onnx"))
    _one_line_failure(capsys, ["stats", inner / "up.onnx"], "external data '../secret.bin'")
    _one_line_failure(capsys, ["compress", tmp_path / "trunc.onnx", "-o", tmp_path / "t.pcz"], "not a readable ONNX model")
    assert not (tmp_path / "t.pcz").exists()


@pytest.mark.slow
@pytest.mark.csim
def test_resnet_onnx_compress_generate_csim_bit_exact_against_the_onnx_model(files, tmp_path, capsys):
    """The CLI entry point in this process (the torch import is paid once); csim compiles and runs the kernel."""
    from pycompress.cli.main import main

    onnx_path = files["resnet"]
    assert main(["compress", str(onnx_path), "--format", "bf16", "-o", str(tmp_path / "m.pcz")]) == 0
    assert main(["generate", str(tmp_path / "m.pcz"), "-o", str(tmp_path / "hls")]) == 0
    capsys.readouterr()
    assert main(["csim", str(tmp_path / "hls"), "--data", "mnist5k", "--images", "300", "--model", str(onnx_path),
                 "--min-agreement", "100", "--json"]) == 0
    c = json.loads(capsys.readouterr().out)
    assert c["weights_bit_exact"] and c["outputs_bit_exact"], c["first_difference"]
    assert c["images"] == 300 and c["compared_with"] == f"model {onnx_path}" and c["top1_agreement_pct"] == 100.0


def test_a_program_run_as_it_is_is_bounded_first(tmp_path):
    """An op without a rebuild (Expand) whose declared output is 10^10 values: refused in one line before
    onnxruntime could allocate it (a model run as it is has every intermediate size checked)."""
    n = helper.make_node
    nodes = [n("Expand", ["x", "shape"], ["y"], name="big")]
    path = _model(nodes, {"shape": np.array([1, 1, 100_000, 100_000], np.int64)}, (1, 1, 1), (1, 100_000, 100_000),
                  folder=tmp_path)
    with pytest.raises(PycompressError, match="exceeds the activation limit"):
        load_model(str(path))
