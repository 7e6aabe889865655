"""rtl/maxpool_unit.sv and rtl/avgpool_unit.sv on their own under Verilator: any kernel, stride and padding.

Crafted images (NaN first and later, +-0 ties, +-inf, subnormals, all-NaN and all -inf windows, random bit
patterns) stream through each unit with random valid/ready stalls and must equal the reference
(pycompress/hw/hls/reference.py) bit for bit; at full rate the unit's clocks must equal the chain model's
(pycompress/hw/plan/rtl_chain.py). The whole engine with a padded, overlapping pool: tests/test_rtlsim.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sim"))
import pool_unit  # noqa: E402

from pycompress.hw.plan.cost_rtl import RTL  # noqa: E402
from pycompress.hw.plan.model import Layer  # noqa: E402
from pycompress.hw.plan.rtl_chain import pool_cycles, pool_times, pool_walk  # noqa: E402

FAST = [("max", 3, 2, 1, (2, 9, 7)), ("avg", 3, 1, 1, (2, 5, 7))]
LONG = [("max", 2, 2, 0, (3, 8, 8)), ("max", 3, 1, 1, (2, 5, 7)), ("max", 3, 2, 1, (2, 8, 8)),
        ("max", 5, 2, 2, (2, 6, 5)), ("max", 2, 3, 0, (2, 9, 7)), ("max", 1, 1, 0, (2, 3, 4)),
        ("avg", 2, 2, 0, (2, 9, 7)), ("avg", 3, 2, 1, (2, 9, 7)), ("avg", 3, 3, 0, (2, 9, 7)),
        ("avg", 5, 2, 2, (2, 6, 5)), ("avg", 2, 3, 0, (2, 9, 7))]


def stage(kind: str, k: int, s: int, p: int, shape: tuple[int, int, int]) -> Layer:
    c, h, w = shape
    out = (c, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
    return Layer("pool", f"{kind}pool2d", "pool", shape, out, (k, k), s, (p, p))


def check_unit(tmp_path: Path, kind: str, k: int, s: int, p: int, shape, subnormals: bool = True) -> None:
    x = pool_unit.crafted_images(shape)
    rep = pool_unit.run(tmp_path / "stalls", kind, shape, k, s, p, x, valid_prob=0.8, ready_prob=0.7,
                        stall_prob=0.02, subnormals=subnormals)
    assert not rep["errors"], rep["errors"]
    bad = np.argwhere(rep["outputs"] != rep["expected"])
    assert bad.size == 0, (bad[:3].tolist(), [f"{rep['outputs'][tuple(i)]:08x}" for i in bad[:3]],
                           [f"{rep['expected'][tuple(i)]:08x}" for i in bad[:3]])
    full = pool_unit.run(tmp_path / "full", kind, shape, k, s, p, x[:2], subnormals=subnormals)
    assert not full["errors"] and np.array_equal(full["outputs"], full["expected"])
    out, taken = pool_times(stage(kind, k, s, p, shape), np.arange(int(np.prod(shape))), RTL)
    model = max(int(out[-1]), int(taken[-1])) + 1  # the harness counts until the last word in and out
    assert full["cycles"] == [model, model], (full["cycles"], model)


@pytest.mark.sim
@pytest.mark.parametrize("kind,k,s,p,shape", FAST)
def test_pool_unit_bit_exact_and_timed(kind, k, s, p, shape, tmp_path):
    check_unit(tmp_path, kind, k, s, p, shape)


@pytest.mark.sim
@pytest.mark.long
@pytest.mark.parametrize("kind,k,s,p,shape", LONG)
def test_pool_unit_more_shapes(kind, k, s, p, shape, tmp_path):
    check_unit(tmp_path, kind, k, s, p, shape)


@pytest.mark.sim
@pytest.mark.long
def test_avgpool_flush_to_zero(tmp_path):
    """SUBNORMALS=0 (the Xilinx cores' behaviour) against the flushing reference."""
    check_unit(tmp_path, "avg", 3, 2, 1, (2, 9, 7), subnormals=False)


def test_walk_past_the_far_padding_only_where_a_window_ends_there():
    real, adds, close = pool_walk(stage("max", 3, 2, 1, (1, 8, 8)))  # the ResNet stem on an even size: no extra
    assert real.all() and close.sum() == 16 and adds.max() == 4
    real, adds, close = pool_walk(stage("max", 3, 1, 1, (1, 5, 7)))  # windows end in the padding: 6 x 8 walked
    assert real.size == 48 and real.sum() == 35 and close.sum() == 35 and adds.max() == 9
    real, _, close = pool_walk(stage("max", 2, 2, 0, (1, 9, 7)))  # floor mode: the last row and column dropped
    assert real.all() and close.sum() == 12


def test_non_overlapping_pools_keep_their_cycles():
    """K <= S without padding: the max pool one input a clock, the average pool an add latency + 1 an input
    in a window and the multiply after a window's last (the cycles before padding and overlap)."""
    assert pool_cycles(stage("max", 2, 2, 0, (6, 24, 24))) == 6 * 24 * 24
    a, m = RTL.avgpool_cycles_per_input, RTL.avgpool_cycles_per_window
    assert pool_cycles(stage("avg", 2, 2, 0, (16, 8, 8))) == 16 * (64 * a + 16 * m)
    assert pool_cycles(stage("avg", 2, 3, 0, (1, 7, 7))) == 16 * a + 4 * m + (49 - 16)
