"""The float units rtl/fp32_mul.sv and rtl/fp32_add.sv: numpy model, Verilator runs, lint, Yosys counts.

One Verilator build (sim/fp_units_tb.sv: both units in both SUBNORMALS modes,
self-checking) serves every simulation test; vectors and expected results come
from pycompress.hw.fpref (sim/fp_units.py).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sim"))
import fp_units  # noqa: E402

from pycompress.hw.fpref import ADD_LATENCY, MUL_CORE_LATENCY, MUL_LATENCY, QNAN, FpUnits, as_bits, flush  # noqa: E402
from pycompress.hw.rtl.images import RTL_DIR  # noqa: E402

SUB, FTZ = FpUnits(True), FpUnits(False)


def u32(*xs) -> np.ndarray:
    return np.array(xs, np.uint32)


# ---- the numpy model on its own ----

def test_model_is_numpy_float32_with_canonical_nan():
    rng = np.random.default_rng(0)
    a, b = fp_units.random_bits(rng, 100_000)
    with np.errstate(all="ignore"):
        for model, op in ((SUB.mul, np.multiply), (SUB.add, np.add)):
            ref = as_bits(op(a.view(np.float32), b.view(np.float32)))
            got = model(a, b)
            nan = np.isnan(ref.view(np.float32))
            assert np.array_equal(got[~nan], ref[~nan])
            assert np.all(got[nan] == QNAN) and nan.any()


def test_model_flush_to_zero_rules():
    tiny, min_normal = 0x00000001, 0x00800000
    assert FTZ.add(u32(tiny), u32(0x3F800000))[0] == 0x3F800000  # subnormal operand reads as zero
    assert FTZ.mul(u32(0x80000003), u32(0x3F800000))[0] == 0x80000000  # ... with its own sign
    assert FTZ.add(u32(0x80000003), u32(0x00000000))[0] == 0x00000000  # (-0) + (+0) = +0
    assert FTZ.mul(u32(min_normal), u32(0xBF000000))[0] == 0x80000000  # subnormal result: signed zero
    assert SUB.mul(u32(min_normal), u32(0xBF000000))[0] == 0x80400000
    assert FTZ.mul(u32(0x00FFFFFF), u32(0x3F000000))[0] == min_normal  # rounds up to min normal: kept
    assert FTZ.mul(u32(0x7F800000), u32(tiny))[0] == QNAN  # inf * (flushed) 0
    assert SUB.add(u32(0x7F800000), u32(0xFF800000))[0] == QNAN  # numpy gives 0xffc00000
    assert SUB.add(u32(0x7FA00001), u32(0))[0] == QNAN  # numpy keeps the payload: 0x7fe00001
    assert np.array_equal(flush(u32(0x807FFFFF, 0x00800000)), u32(0x80000000, 0x00800000))


def test_model_sequential_dot():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((4, 50)).astype(np.float32)
    x = rng.standard_normal((4, 50)).astype(np.float32)
    acc = np.zeros(4, np.float32)
    for i in range(50):
        acc = acc + w[:, i] * x[:, i]
    assert np.array_equal(SUB.dot(w, x), as_bits(acc))


def test_edge_vectors_hit_the_edge_cases():
    v = fp_units.edge_vectors()
    with np.errstate(all="ignore"):
        a, b = (x.view(np.float32).astype(np.float64) for x in (v.a, v.b))
        ties = fp_units.is_tie(a * b)
        assert ties.sum() >= 20000 and (ties & (np.abs(a * b) < 2.0 ** -126)).sum() >= 10000  # subnormal ties
        assert fp_units.is_tie(a + b).sum() >= 20000
    s = v.expected["add_sub"]
    for r in (v.expected["mul_sub"], s):
        mag = r & np.uint32(0x7FFFFFFF)
        assert (mag == 0x7F800000).any() and (r == QNAN).any() and (r == 0x80000000).any() and (r == 0).any()
        assert ((mag > 0) & (mag < 0x00800000)).sum() > 100  # subnormal results
    assert (v.expected["mul_ftz"] & np.uint32(0x7F800000) != 0).sum() > 0


# ---- Verilator ----

def assert_clean(report: dict, n: int) -> None:
    assert report.get("done"), report
    assert report["n"] == n
    for unit, r in report["units"].items():
        assert r["mismatches"] == 0, f"{unit}: {r}"
    assert report["lat_mul"] == MUL_LATENCY and report["lat_add"] == ADD_LATENCY


@pytest.mark.sim
def test_edge_cases_bit_exact_with_input_gaps(tmp_path):
    """Every pair of special values, constructed ties (normal and subnormal), carries, overflow, cancellation,
    fed with random bubbles (the valid pipeline) through all four units."""
    v = fp_units.edge_vectors()
    report = fp_units.run(v, tmp_path, gaps=True)
    assert_clean(report, len(v))


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.long  # ~2 min; make sim runs the same check (python sim/fp_units.py)
def test_two_million_pairs_bit_exact(tmp_path):
    """2,097,152 pairs a unit (1,048,576 random bit patterns, the rest values built for cancellation,
    alignment, underflow and overflow), one pair per clock: no bubbles, 0 mismatches."""
    v = fp_units.random_vectors(seed=1)
    report = fp_units.run(v, tmp_path)
    assert_clean(report, fp_units.MAX_N)
    assert report["cycles"] <= len(v) + 10  # one result a clock


@pytest.mark.sim
def test_a_wrong_expectation_is_caught(tmp_path):
    """The hardware comparison is not vacuous: one flipped expected bit is counted and located."""
    v = fp_units.edge_vectors()
    k = 1234
    v.expected["add_ftz"][k] ^= np.uint32(1)
    report = fp_units.run(v, tmp_path)
    r = report["units"]["add_ftz"]
    assert r["mismatches"] == 1 and r["first_index"] == k
    assert int(r["got"], 16) == int(r["expected"], 16) ^ 1
    assert all(report["units"][u]["mismatches"] == 0 for u in ("mul_sub", "add_sub", "mul_ftz"))


UNIT_SOURCES = {"fp32_mul": ("fp32_unpack", "fp32_mul_core", "fp32_mul"), "fp32_add": ("fp32_add",),
                "fp32_mul_core": ("fp32_mul_core",)}


@pytest.mark.sim
@pytest.mark.parametrize("top,wb", [("fp32_mul", 24), ("fp32_mul", 8), ("fp32_mul", 4), ("fp32_mul", 1),
                                    ("fp32_mul_core", 8), ("fp32_add", None)])
@pytest.mark.parametrize("subnormals", [0, 1])
def test_lint_clean(top, wb, subnormals):
    import harness

    harness.setup_tools()
    params = [f"-GSUBNORMALS={subnormals}"] + ([f"-GWB={wb}"] if wb else [])
    r = subprocess.run(["verilator", "--lint-only", "-Wall", *(str(RTL_DIR / f"{s}.sv") for s in UNIT_SOURCES[top]),
                        "--top-module", top, *params], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_latency_localparams_match_the_model():
    for top, lat in (("fp32_mul", MUL_LATENCY), ("fp32_mul_core", MUL_CORE_LATENCY), ("fp32_add", ADD_LATENCY)):
        m = re.search(r"localparam int LATENCY = (\d+);", (RTL_DIR / f"{top}.sv").read_text())
        assert m and int(m.group(1)) == lat


# ---- Yosys ----

@pytest.mark.yosys
@pytest.mark.slow
@pytest.mark.parametrize("top", ["fp32_mul", "fp32_add"])
def test_yosys_counts(top, tmp_path):
    """synth_xilinx (xc7) maps each unit; the multiplier's 24x24 product goes to DSP48E1 slices."""
    from pycompress.hw.rtl.synth_report import synthesise

    r = synthesise(top, top, tmp_path, [RTL_DIR / f"{s}.sv" for s in UNIT_SOURCES[top]], {"SUBNORMALS": 1})
    print(r)
    assert 100 < r.lut < 2000 and r.ff > 50 and r.ramb18 + r.ramb36 == 0
    assert (r.dsp >= 1) if top == "fp32_mul" else (r.dsp == 0)


# ---- MAC lane (rtl/mac_lane.sv) with its control (rtl/mac_ctl.sv) ----

def _mac_layers(rng) -> list[tuple[np.ndarray, np.ndarray]]:
    """66 outputs x 150 terms of random normals (a short last group of 2), 9 one-term outputs, and 7 x 25
    with special values, subnormals and huge values sprinkled in (NaN, inf, overflow, FTZ differences)."""
    def normal(shape, scale=1.0):
        return as_bits((rng.standard_normal(shape) * scale).astype(np.float32))

    w3, x3 = normal((7, 25)), normal((7, 25), 1e-20)
    specials = fp_units.special_values()
    for arr in (w3, x3):
        pick = rng.random(arr.shape) < 0.08
        arr[pick] = rng.choice(specials, pick.sum())
    return [(normal((66, 150)), normal((66, 150))), (normal((9, 1)), normal((9, 1))), (w3, x3)]


@pytest.mark.sim
@pytest.mark.parametrize("bubbles", [0.0, 0.3])
def test_mac_bank_matches_sequential_float32_dot(bubbles, tmp_path):
    """Every output equals numpy's sequential float32 sum of its products (both SUBNORMALS modes); with
    no bubbles one term enters every clock (the multiply-add loop hidden by SPACING = 10 accumulators)."""
    rng = np.random.default_rng(7)
    layers = _mac_layers(rng)
    sched = fp_units.mac_schedule(layers, rng, bubble_prob=bubbles)
    report = fp_units.run_mac(sched, tmp_path)
    assert report.get("done"), report
    assert report["results"] == 66 + 9 + 7
    assert report["units"] == {"sub": {"mismatches": 0, "first_index": None, "got": None},
                               "ftz": {"mismatches": 0, "first_index": None, "got": None}}
    if not bubbles:
        valid = int((sched.lines[:, 0] & 1).sum())
        pad = -66 % fp_units.BANK * 150 + (fp_units.BANK - 9) + (fp_units.BANK - 7) * 25
        assert valid == 66 * 150 + 9 + 7 * 25 and len(sched.lines) == valid + pad  # padding only
        assert report["cycles"] <= len(sched.lines) + MUL_LATENCY + ADD_LATENCY + 5
    w, x = layers[0]
    plain = np.zeros(66, np.float32)
    for i in range(150):
        plain = plain + w[:, i].view(np.float32) * x[:, i].view(np.float32)
    assert np.array_equal(sched.expected[:66, 1], plain.view(np.uint32))  # the model is numpy's own loop


@pytest.mark.sim
def test_mac_wrong_sum_is_caught(tmp_path):
    rng = np.random.default_rng(8)
    sched = fp_units.mac_schedule(_mac_layers(rng)[1:], rng)
    sched.expected[5, 2] ^= np.uint32(1 << 30)
    report = fp_units.run_mac(sched, tmp_path)
    assert report["units"]["sub"]["mismatches"] == 0
    assert report["units"]["ftz"]["mismatches"] == 1 and report["units"]["ftz"]["first_index"] == 5
