"""The RTL fc engine (rtl/fc_engine.sv) on the shipped LeNet's fc1->relu->fc2->relu->fc3, bit-exact under Verilator.

One cached Verilator build (sim/fc_harness.py); each layer is one simulator
process over all digits, with random valid gaps, backpressure and stalls on both
stream ports; each layer's RTL outputs feed the next. The fc1 inputs come from
the numpy reference of the conv part.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sim"))

from pycompress.hw.fpref import FpUnits, as_bits  # noqa: E402
from pycompress.hw.layout import lane_order, lane_split_order  # noqa: E402

DIGITS = 20


def test_lane_split_order_is_lane_order_by_lane():
    order = lane_split_order(12, 5, 3)
    assert order.shape == (3, 20)
    # address r*G + g of lane p holds weight[p*G + g, r]
    assert order[2, 1 * 4 + 3] == (2 * 4 + 3) * 5 + 1
    assert sorted(order.reshape(-1)) == list(range(60))
    assert set(order.reshape(-1)) == set(lane_order(12, 5, 3))


def test_fpref_linear_is_the_reference_order():
    """In IEEE mode the engine's model is pycompress.hw.hls.reference._linear bit for bit (biases not -0)."""
    from pycompress.hw.hls.reference import _linear

    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 33)).astype(np.float32)
    w = (rng.standard_normal((9, 33)) * 1e-3).astype(np.float32)
    b = rng.standard_normal(9).astype(np.float32)
    assert np.array_equal(FpUnits(True).linear(x, w, b), as_bits(_linear(x, w, b)))
    relu = FpUnits(True).linear(x, w, b, relu=True)
    assert np.array_equal(relu, as_bits(np.where(_linear(x, w, b) > 0, _linear(x, w, b), np.float32(0))))


@pytest.mark.sim
@pytest.mark.long
def test_lenet_fc_layers_bit_exact(tmp_path):
    import fc_harness
    from pycompress.hw.hls.reference import reference_forward
    from pycompress.hw.hls.vectors import dataset_inputs

    km, lanes = fc_harness.lenet_bf16()
    for l in fc_harness.fc_layers(km, lanes):
        assert not np.any(km.params[l.bias].view(np.uint32) == 0x80000000), "a -0 bias: the engine would give +0"
    x, _ = dataset_inputs(km.graph, DIGITS)
    res = fc_harness.run_network(km, lanes, x, tmp_path, ready_prob=0.7, valid_prob=0.7, stall_prob=0.01)
    print("\n" + fc_harness.cycle_table(res["rows"]))
    for r in res["rows"]:
        assert r["passed"], r["errors"]
        assert r["mismatches"] == 0, r
        n_in, g = r["n_in"], r["n_out"] // r["lanes"]
        # one term a clock: (inputs + bias) x groups, plus the multiplier and adder latency
        assert all(c <= (n_in + 1) * g + 10 for c in r["compute_cycles"]), r["compute_cycles"]
        assert abs(min(r["compute_cycles"]) - r["hls_cycles"]) <= 0.05 * r["hls_cycles"]
    assert [r["layer"] for r in res["rows"]] == ["fc1", "fc2", "fc3"]
    assert res["logits"].shape == (DIGITS, 10)
    assert np.array_equal(res["logits"], as_bits(reference_forward(km.graph, km.params, x)))


@pytest.mark.sim
@pytest.mark.parametrize("lanes", [1, 4])
def test_fc_engine_lint_clean(lanes):
    from test_rtl_lint import lint

    from pycompress.hw.rtl.images import fc_engine_sources

    r = lint([*map(str, fc_engine_sources()), "--top-module", "fc_engine", f"-GP={lanes}", "-GMAX_G=10"])
    assert r.returncode == 0, r.stderr
