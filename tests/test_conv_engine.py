"""The RTL conv engine (rtl/conv_engine.sv): shipped LeNet and DigitsCNN conv layers bit-exact under Verilator.

Each layer is one cached Verilator build (its geometry is a module parameter,
sim/conv_harness.py) and one simulator process over a few digits, with random
valid gaps, backpressure and stalls on both stream ports. Inputs come from the
numpy reference (pycompress.hw.hls.reference) of the layers before; outputs are
compared in uint32 with fpref's model and with the reference's own conv (+ ReLU).
Lanes here are small (fast builds, groups > 1); `make sim` runs the allocator's
lanes (`python sim/conv_harness.py --model lenet|digits`, which also checks the cycles).
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sim"))

from pycompress.hw.fpref import FpUnits, as_bits, as_float  # noqa: E402

from conv_harness import CYCLE_TOLERANCE  # noqa: E402  (measured compute cycles vs schedule.layer_nest, same lanes)


def _reference_conv(km, layer, x_bits: np.ndarray, subnormals: bool = True) -> np.ndarray:
    """pycompress/hw/hls/reference.py's own conv (+ the graph's ReLU) on these inputs: (N, OC*OH*OW) uint32."""
    from pycompress.hw.hls.reference import _conv, _Ops

    conv = next(l for l in km.graph.layers if l.name == layer.name)
    x = as_float(x_bits).reshape(-1, layer.ic, layer.ih, layer.iw)
    b = km.params[layer.bias].astype(np.float32) if layer.bias else None
    y = _conv(x, conv, km.params[layer.weight].astype(np.float32), b, (layer.oc, layer.oh, layer.ow), _Ops(subnormals))
    if layer.relu:
        y = np.where(y > 0, y, np.float32(0)).astype(np.float32)
    return as_bits(y).reshape(x.shape[0], -1)


def test_fpref_conv2d_is_the_reference_order():
    """In IEEE mode the engine's model is pycompress.hw.hls.reference._conv bit for bit: padding, stride, -0 bias."""
    from pycompress.core.graph import Conv2d
    from pycompress.hw.hls.reference import _conv

    rng = np.random.default_rng(5)
    for ic, oc, k, s, p, h in [(1, 6, 5, 1, 0, 12), (3, 4, 3, 2, 1, 9), (2, 5, 3, 1, 1, 8), (2, 3, 3, 2, 2, 7)]:
        x = rng.standard_normal((3, ic, h, h)).astype(np.float32)
        w = rng.standard_normal((oc, ic, k, k)).astype(np.float32)
        b = rng.standard_normal(oc).astype(np.float32)
        b[0] = -0.0  # the bias is the accumulator's start, so even -0 survives (padded taps add -0)
        x[0, 0, 0, 0] = -0.0
        layer = Conv2d(name="c", weight="w", bias="b", in_channels=ic, out_channels=oc, kernel=(k, k), stride=s,
                       padding=(p, p))
        oh = (h + 2 * p - k) // s + 1
        want = as_bits(_conv(x, layer, w, b, (oc, oh, oh)))
        assert np.array_equal(FpUnits(True).conv2d(x, w, b, s, (p, p)), want)
        relu = FpUnits(True).conv2d(x, w, b, s, (p, p), relu=True)
        assert np.array_equal(relu, np.where(as_float(want) > 0, want, np.uint32(0)))
        # the model is order-sensitive: summing the reduction backwards changes some outputs
        back = FpUnits(True).conv2d(x[:, ::-1].copy(), w[:, ::-1].copy(), b, s, (p, p))
        if ic > 1:
            assert not np.array_equal(back, want)


def test_conv_lane_images_hold_the_engine_order():
    """Lane p's tables hold weight[p*G + g, r] at address r*G + g, r = (ic, ky, kx) in C order."""
    import fc_harness

    from pycompress.hw.rtl.images import conv_lane_images

    km, _ = fc_harness.lenet_bf16()
    t = km.tables["conv2.weight"]
    lanes, g = 4, 4
    files, plusargs = conv_lane_images(t, lanes, km.params["conv2.bias"].view(np.uint32), prefix="c2")
    sign = np.asarray(t.sign).reshape(16, 150)
    for p in range(lanes):
        lines = [int(v, 16) for v in files[f"c2_l{p:02d}_sign.mem"].splitlines() if v and not v.startswith("//")]
        assert lines == [int(sign[p * g + gg, r]) for r in range(150) for gg in range(g)]
        bias = [int(v, 16) for v in files[f"c2_l{p:02d}_bias.mem"].splitlines() if v and not v.startswith("//")]
        assert bias == list(km.params["conv2.bias"].view(np.uint32)[p * g:(p + 1) * g])
    assert plusargs["L03_INDEX_MEM"] == "c2_l03_index.mem" and plusargs["ROM_MEM"] == "c2_rom.mem"


@pytest.mark.sim
@pytest.mark.parametrize("args", [
    ["-GP=6"],  # LeNet conv1, the allocator's lanes
    ["-GP=2", "-GIC=3", "-GIH=8", "-GIW=8", "-GOC=4", "-GKH=3", "-GKW=3", "-GPH=1", "-GPW=1", "-GSTRIDE=2", "-GRELU=1"],
    ["-GP=4", "-GOC=4", "-GSUBNORMALS=0", "-GCLUSTER=1"],
])
def test_conv_engine_lint_clean(args):
    from test_rtl_lint import lint

    from pycompress.hw.rtl.images import conv_engine_sources

    r = lint([*map(str, conv_engine_sources()), "--top-module", "conv_engine", *args])
    assert r.returncode == 0, r.stderr


def _check_rows(km, rows, x_bits_by_layer):
    import conv_harness

    print("\n" + conv_harness.cycle_table(rows))
    for r in rows:
        assert r["passed"], r["errors"]
        assert r["mismatches"] == 0, (r["layer"], r["mismatches"])
        layer = next(l for l in conv_harness.conv_layers(km, {}) if l.name == r["layer"])
        assert np.array_equal(r["outputs"], _reference_conv(km, layer, x_bits_by_layer[r["layer"]]))
        c = r["compute_cycles"]
        # one term a clock per lane and no bubbles: the same count on every image, stalls or not
        assert min(c) == max(c) and r["terms"] <= c[0] <= r["terms"] + 16, c
        assert abs(c[0] - r["hls_cycles"]) <= CYCLE_TOLERANCE * r["hls_cycles"], (c[0], r["hls_cycles"])


def _run(model: str, lanes: dict[str, int], digits: int, tmp_path):
    import conv_harness
    from fc_harness import fc_inputs

    from pycompress.hw.hls.vectors import dataset_inputs

    km, _ = conv_harness.MODELS[model]()
    x, _ = dataset_inputs(km.graph, digits)
    rows = conv_harness.run_model(km, lanes, x, tmp_path, ready_prob=0.7, valid_prob=0.7, stall_prob=0.01)
    xs = {r["layer"]: as_bits(np.ascontiguousarray(fc_inputs(km, x, r["layer"]), np.float32)).reshape(digits, -1)
          for r in rows}
    assert [r["layer"] for r in rows] == sorted(lanes)
    _check_rows(km, rows, xs)


@pytest.mark.sim
def test_lenet_conv_layers_bit_exact(tmp_path):
    """conv1 with 3 lanes of 2 channels, conv2 with 4 lanes of 4 channels (1x28x28 and 6x12x12 inputs)."""
    _run("lenet", {"conv1": 3, "conv2": 4}, 2, tmp_path)


@pytest.mark.sim
def test_digits_cnn_conv_layers_bit_exact(tmp_path):
    """The DigitsCNN: padding 1 (conv1, 2 lanes of 4 channels) and stride 2 with padding 1 (conv2, 4 lanes of 4)."""
    _run("digits", {"conv1": 2, "conv2": 4}, 4, tmp_path)


@pytest.mark.sim
def test_conv_engine_flush_to_zero(tmp_path):
    """SUBNORMALS=0 against fpref's flush-to-zero model, on inputs scaled into the subnormal range.

    LeNet conv1 with its bias set to zero (a bias would hide the tiny sums) on a digit, the same digit times
    2^-125 (products and many inputs subnormal) and times 2^-100; the IEEE model differs on these inputs,
    so an engine that kept subnormals would fail."""
    import conv_harness

    from pycompress.hw.hls.vectors import dataset_inputs

    km, _ = conv_harness.lenet_bf16()
    layer = dataclasses.replace(next(l for l in conv_harness.conv_layers(km, {}) if l.name == "conv1"), lanes=3)
    km = dataclasses.replace(km, params={**km.params, layer.bias: np.zeros(layer.oc, np.float32)})
    x, _ = dataset_inputs(km.graph, 1)
    x = np.concatenate([x, x * np.float32(2.0 ** -125), x * np.float32(2.0 ** -100)]).astype(np.float32)
    xb = as_bits(x).reshape(3, -1)
    got, rep = conv_harness.run_layer(km, layer, xb, tmp_path / "ftz", subnormals=False, ready_prob=0.7, valid_prob=0.7,
                                      stall_prob=0.01)
    assert rep["passed"], rep["errors"]
    ftz = conv_harness.reference_layer(km, layer, xb, subnormals=False)
    assert not np.array_equal(ftz, conv_harness.reference_layer(km, layer, xb, subnormals=True))
    assert np.array_equal(got, ftz)
    assert np.array_equal(got, _reference_conv(km, layer, xb, subnormals=False))
