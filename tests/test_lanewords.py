"""The lane-word memory rule (hw.lanewords.column_layout): RAMB18 columns, folded rows, exact packing."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pycompress.hw.lanewords import (FOLD_MAX, Column, column_layout, column_widths, fold_rows, pack_lane_words,
                                     unfold_rows, unpack_lane_words)
from pycompress.hw.plan.memory import bram18k


def test_fold_fills_a_half_empty_ramb18():
    # 78 bits (six 13-bit codes) at 5,120 words: 36 + 36 exact (10 + 10), the last 6 bits folded 3 times into
    # 1,707 x 18 (2 RAMB18) where unfolded 4 + 2 take 3
    cols = column_layout(78, 5120)
    assert [(c.width, c.fold) for c in cols] == [(36, 1), (36, 1), (6, 3)]
    assert [c.bram18k for c in cols] == [10, 10, 2] and (cols[2].rows, cols[2].row_bits) == (1707, 18)
    assert sum(Column(w, 5120).bram18k for w in column_widths(78, 5120)) == 23


@pytest.mark.parametrize("bits,depth", [(78, 5120), (96, 5120), (48, 2520), (64, 2520), (192, 150), (24, 420),
                                        (13, 100_000), (5, 9000), (1, 16385)])
def test_layout_covers_the_word_and_never_costs_more_than_unfolded(bits, depth):
    cols = column_layout(bits, depth)
    assert sum(c.width for c in cols) >= bits and all(1 <= c.fold <= FOLD_MAX and c.row_bits <= 36 for c in cols)
    unfolded = sum(Column(w, depth).bram18k for w in column_widths(bits, depth))
    total = sum(c.bram18k for c in cols)
    assert total <= unfolded and total >= math.ceil(bits * depth / 18432)  # never below the bits' lower bound
    for c in cols:  # each column's memory: a real RAMB18 shape at its rows
        assert c.bram18k == bram18k(c.row_bits, c.rows)


def test_small_tables_stay_unfolded_lutram():
    cols = column_layout(40, 100)  # 4,000 bits
    assert [(c.width, c.fold, c.in_bram) for c in cols] == [(32, 1, False), (8, 1, False)]


@pytest.mark.parametrize("fold", [1, 2, 3, 5, 8])
def test_fold_rows_round_trip(fold):
    rng = np.random.default_rng(fold)
    col = Column(7, 1001, True, fold)
    data = rng.integers(0, 1 << 7, 1001).astype(np.uint64)
    rows = fold_rows(data, col)
    assert rows.size == col.rows and int(rows.max()) < (1 << col.row_bits)
    assert np.array_equal(unfold_rows(rows, col), data)
    # word j sits in row j - s*rows at field s, s the number of thresholds j has passed (what table.h.j2 renders)
    for j in (0, col.rows - 1, min(col.rows, 1000), 1000):
        s = sum(j >= t for t in col.starts)
        assert (int(rows[j - s * col.rows]) >> (s * 7)) & 127 == int(data[j])


def test_pack_unpack_exact_with_folded_columns():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 1 << 13, 120 * 256).astype(np.uint64)
    t = pack_lane_words(codes, 13, 120, 256, 6)
    assert any(c.fold > 1 for c in t.columns) and t.bram18k == 22
    assert np.array_equal(unpack_lane_words(t), codes)
