"""One front-end contract (issue 24): the nn.Module, `.pt2` and ONNX (both exporters) paths give the
same layer graph for the same network, the same outputs, and the same one-line reason where a layer
has no hardware; every file works with stats, compress and `evaluate x.pcz --model FILE`.

The architectures are tests/archs.py. Exports are cached per session; a fast subset runs by default,
the whole matrix under the `long` marker (make test-long).
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from archs import ARCHS, FAST, make
from pycompress.core.graph import Activation, Graph
from pycompress.frontends import load_model
from pycompress.frontends.graph_builtin import module_graph_or_reason
from pycompress.hw.hls.reference import reference_forward

FRONT_ENDS = ("pt2", "onnx", "onnx_legacy")  # onnx: torch.onnx.export(dynamo=True), the default; legacy: TorchScript
QUICK = ("pt2", "onnx_legacy")  # the dynamo exporter takes seconds per model: the fast subset leaves it to the long run


def _params(fast: dict[str, tuple[str, ...]]) -> list:
    """The fast subset's front ends in the default run, everything else under `long`."""
    out = []
    for n in ARCHS:
        quick = fast.get(n, ())
        if quick:
            out.append(pytest.param(n, quick, id=f"{n}-quick"))
        rest = tuple(fe for fe in FRONT_ENDS if fe not in quick)
        out.append(pytest.param(n, rest, id=f"{n}-long" if quick else n, marks=pytest.mark.long))
    return out


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """name -> {front end: path}, exported once per session (torch.export, ONNX dynamo and TorchScript exporters)."""
    root, cache = tmp_path_factory.mktemp("archs"), {}

    def get(name: str, fe: str) -> Path:
        if (name, fe) not in cache:
            m = make(name)
            x = torch.randn(2, *m.input_shape, generator=torch.Generator().manual_seed(0))
            path = root / f"{name}_{fe}.{'pt2' if fe == 'pt2' else 'npz' if fe == 'data' else 'onnx'}"
            if fe == "pt2":
                torch.export.save(torch.export.export(m, (x,)), str(path))
            elif fe == "data":
                rng = np.random.default_rng(0)
                np.savez(path, x=rng.standard_normal((60, *m.input_shape)).astype(np.float32), y=rng.integers(0, 10, 60))
            else:
                with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                        contextlib.redirect_stderr(io.StringIO()):
                    warnings.simplefilter("ignore")
                    torch.onnx.export(m, (x,), str(path), dynamo=fe == "onnx")
            cache[(name, fe)] = path
        return cache[(name, fe)]

    return get


def _signature(graph: Graph, params: dict) -> list:
    """Each layer's op, attributes (activation parameters at float32) and inputs by position, and the
    float32 values of its tensors, without the names front ends choose differently."""
    names = {layer.name: k + 1 for k, layer in enumerate(graph.layers)}
    out = []
    for layer in graph.layers:
        attrs, tensors = {}, []
        for key, value in vars(layer).items():
            if key in ("weight", "bias", "scale", "shift"):
                tensors.append(None if value is None else np.asarray(params[value], np.float32))
            elif key == "inputs":
                attrs[key] = tuple(names.get(i, 0) for i in value)
            elif key == "params":
                attrs[key] = tuple(float(np.float32(v)) for v in value)
            elif key != "name":
                attrs[key] = value
        out.append((attrs, tensors))
    return out


def _same(a: list, b: list) -> None:
    assert [x[0] for x in a] == [x[0] for x in b]
    for (_, ta), (_, tb) in zip(a, b):
        assert len(ta) == len(tb)
        for u, v in zip(ta, tb):
            assert (u is None) == (v is None)
            if u is not None:  # the TorchScript exporter fuses BN itself, in float32: not bit for bit
                np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, front_ends", _params({n: QUICK for n in FAST}))
def test_same_graph_and_outputs_from_every_front_end(name, front_ends, exported):
    module = make(name)
    x = torch.randn(7, *module.input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = module(x).numpy()
    found = module_graph_or_reason(module)
    loaded = {fe: load_model(str(exported(name, fe))) for fe in front_ends}
    if module.HW is not None:  # refused everywhere, in one line naming the layer
        assert found.graph is None and re.search(module.HW, found.reason), found.reason
        for fe, m in loaded.items():
            assert m.graph is None and re.search(module.HW, m.graph_note), (fe, m.graph_note)
            assert "\n" not in m.graph_note
    else:
        graph = Graph.from_dict(found.graph)
        ref = {k: v.detach().numpy() for k, v in found.module.state_dict().items()}
        sig = _signature(graph, ref)
        np.testing.assert_allclose(reference_forward(graph, ref, x.numpy()), want, rtol=1e-4, atol=1e-5)
        for fe, m in loaded.items():
            assert m.graph is not None, (fe, m.graph_note)
            g = Graph.from_dict(m.graph)
            params = {k: v.detach().numpy() for k, v in m.state_dict.items()}
            _same(_signature(g, params), sig)
            np.testing.assert_allclose(reference_forward(g, params, x.numpy()), want, rtol=1e-4, atol=1e-5)
    for fe, m in loaded.items():  # the user's network, rebuilt or run as it is, computes what the module computes
        with torch.no_grad():
            got = m.build(m.state_dict)(x).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=fe)


def _main(capsys, *args) -> tuple[int, str, str]:
    from pycompress.cli.main import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name, front_ends", _params({"ResNet": ("pt2",), "Depthwise": ("onnx_legacy",)}))
def test_stats_compress_and_evaluate_with_the_users_model(name, front_ends, exported, tmp_path, capsys):
    data = exported(name, "data")
    for fe in front_ends:
        f, pcz = exported(name, fe), tmp_path / f"{fe}.pcz"
        assert _main(capsys, "stats", f)[0] == 0
        code, _, err = _main(capsys, "compress", f, "-o", pcz, "--format", "fp32")
        assert code == 0, err
        code, out, err = _main(capsys, "evaluate", pcz, "--model", f, "--data", data, "--json")
        assert code == 0, err
        lossless = json.loads(out)
        code, out, err = _main(capsys, "evaluate", f, "--data", data, "--json")
        assert code == 0 and json.loads(out)["accuracy"] == lossless["accuracy"]  # fp32: the same weights
        code, _, err = _main(capsys, "generate", pcz, "-o", tmp_path / f"{fe}_hls")
        if make(name).HW is not None:  # generate refuses in one line, naming why
            errors = [line for line in err.splitlines() if "error" in line]
            assert code == 2 and len(errors) == 1 and re.search(make(name).HW, errors[0]), err
        else:  # every layer has an HLS kernel
            assert code == 0, err


CSIM = {"GeluSoftmax": ("pt2", "onnx_legacy"), "TanhLeNet": ("onnx_legacy",), "SiluSame": ("pt2",), "HardActs": ("pt2",),
        "BNAnywhere": ("onnx_legacy",), "StemPool": ("pt2",), "LeakyGAP": ("pt2",)}


@pytest.mark.csim
@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n == "GeluSoftmax" else pytest.mark.long) for n in CSIM])
def test_generate_and_csim_bit_exact_against_the_users_model(name, exported, tmp_path, capsys):
    """Every activation, scale-and-shift, softmax and padded pool through the HLS kernel: bit-exact against the
    reference, top-1 agreement with the user's own program printed (random weights: not asserted)."""
    data = exported(name, "data")
    for fe in CSIM[name]:
        f, pcz, hls = exported(name, fe), tmp_path / f"{fe}.pcz", tmp_path / f"{fe}_hls"
        assert _main(capsys, "compress", f, "-o", pcz)[0] == 0
        assert _main(capsys, "generate", pcz, "-o", hls)[0] == 0
        code, out, err = _main(capsys, "csim", hls, "--data", data, "--model", f, "--json")
        assert code == 0, err
        r = json.loads(out)
        assert r["outputs_bit_exact"] and r["weights_bit_exact"] and r["max_abs_diff"] < 1e-3


def test_activations_reach_the_graph_with_their_parameters(exported):
    m = load_model(str(exported("BNAnywhere", "onnx_legacy")))
    ops = [layer["op"] for layer in m.graph["layers"]]
    assert ops.count("scaleshift") == 2 and "batch norm: 1 folded into the preceding layer" not in m.notes
    assert any("2 folded into the following layer" in n and "2 kept" in n for n in m.notes), m.notes
    g = Graph.from_dict(load_model(str(exported("GeluSoftmax", "pt2"))).graph)
    assert [l.function for l in g.layers if isinstance(l, Activation)] == ["gelu", "gelu"] and g.layers[-1].op == "softmax"


# the layers the RTL engine truly lacks (docs/rtl.md: HLS-only activations, scale-and-shift, padded pools)
RTL_REFUSED = {"TanhLeNet": "layer tanh \\(activation tanh\\)", "GeluSoftmax": "layer gelu \\(activation gelu\\)",
               "SiluSame": "layer silu \\(activation silu\\)", "HardActs": "activation hard(swish|sigmoid)",
               "BNAnywhere": "\\(scaleshift\\)", "StemPool": "pooling with padding"}


@pytest.mark.parametrize("name", [n for n in ARCHS if make(n).HW is None])
def test_rtl_engine_or_one_line_naming_the_layer_it_lacks(name):
    """Every architecture with a graph gets an RTL engine plan within the board (residual adds, global average
    pooling, LeakyReLU included) unless a layer has no RTL unit: then one line names that layer."""
    import pycompress
    from pycompress.core.errors import PycompressError
    from pycompress.hw.plan import kernel_model, plan_rtl
    from pycompress.hw.rtl.render import over_budget

    km = kernel_model(pycompress.compress(make(name), pycompress.CompressConfig(format="bf16")))
    if name in RTL_REFUSED:
        with pytest.raises(PycompressError, match=RTL_REFUSED[name]) as e:
            plan_rtl(km)
        assert "\n" not in str(e.value)
    else:
        plan = plan_rtl(km)
        assert not over_budget(plan) and plan.interval() <= plan.latency()
