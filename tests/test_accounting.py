import math

import numpy as np
import pytest
import torch

from pycompress.core.accounting import compressed_bits, layer_stats, max_savings_pct, savings_pct
from pycompress.core.formats import BF16, FORMATS, FP16, FP32, FP64, tensor_bits


@pytest.mark.parametrize("fmt,expected", [(BF16, 43.75), (FP32, 21.875), (FP16, 25.0), (FP64, 15.625)], ids=lambda x: getattr(x, "name", x))
def test_fig7_maxima(fmt, expected):
    assert max_savings_pct(fmt) == expected
    # Eq. 3/4: two distinct exponents, N weights -> expected - 100*l*2/(N*bits)
    for n in (10, 1000, 10**6):
        got = savings_pct(n * fmt.total_bits, compressed_bits(n, 2, fmt))
        assert got == pytest.approx(expected - 100 * fmt.exponent_bits * 2 / (n * fmt.total_bits))
        assert got < expected


def test_bf16_eq4_literal():
    n = 1000
    assert savings_pct(16 * n, compressed_bits(n, 2, BF16)) == pytest.approx(43.75 - 100 / n)


def test_layer_stats_against_hand_computation():
    w = torch.tensor([1.0, 2.0, 2.5, -4.0, 0.0, 0.0, 1.5, 3.0])  # exponents 127,128,128,129,0,0,127,128
    s = layer_stats("w", tensor_bits(w.to(torch.bfloat16)), BF16)
    assert (s.n, s.distinct_exponents, s.index_bits) == (8, 4, 2)
    assert s.original_bits == 8 * 16
    assert s.compressed_bits == 8 * (1 + 2 + 7) + 8 * 4
    p = np.array([2, 3, 1, 2]) / 8
    assert s.exponent_entropy_bits == pytest.approx(float(-(p * np.log2(p)).sum()))
    assert s.entropy_bound_bits == math.ceil(8 * (1 + s.exponent_entropy_bits + 7)) + 32
    assert s.savings_pct == pytest.approx(100 * (128 - 112) / 128)


def test_every_format_has_a_maximum():
    assert all(0 < max_savings_pct(f) < 50 for f in FORMATS.values())
