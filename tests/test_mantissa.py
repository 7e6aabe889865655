"""Mantissa approximation: decimal digits, bit-level RNE, constraints, and Eq. 1 with m'."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pycompress.schemes.expshare import encode_bits, index_bits_for
from pycompress.core.errors import PycompressError
from pycompress.core.formats import BF16, FP16, FP32, bits_tensor, split_fields, tensor_bits
from pycompress.lossy.iterative import build_container, measure
from pycompress.lossy.mantissa import (Constraint, bits_schedule, constrain_state_dict, decimal_schedule,
    round_decimal, round_mantissa_bits)


def weights(n=2000, seed=0):
    return torch.randn(n, generator=torch.Generator().manual_seed(seed)) * 0.1


@pytest.mark.parametrize("fmt", [FP32, BF16])
@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
def test_decimal_rounding_holds(fmt, k):
    w = weights()
    out = round_decimal(w, k, fmt).double().numpy()
    ref = np.round(w.double().numpy(), k)
    # stored value is round(w, k) converted to the format: within half an ulp of the format
    assert np.all(np.abs(out - ref) <= np.abs(ref) * 2.0 ** -(fmt.mantissa_bits + 1))
    if fmt is FP32:
        assert np.array_equal(out, ref.astype(np.float32).astype(np.float64))


def test_decimal_schedule_starts_at_floor_log10():
    assert [c.decimal_digits for c in decimal_schedule("fp32")] == [6, 5, 4, 3, 2, 1, 0]
    assert [c.decimal_digits for c in decimal_schedule("bf16")] == [2, 1, 0]
    assert [c.mantissa_bits for c in bits_schedule("bf16")] == [6, 5, 4, 3, 2, 1, 0]


def rne_reference(bits: np.ndarray, fmt, keep: int) -> np.ndarray:
    """Independent reference: round the value to `keep` mantissa bits in float64 arithmetic."""
    vals = bits_tensor(bits, fmt).double().numpy()
    _, e, _ = split_fields(bits, fmt)
    unbiased = np.maximum(e.astype(np.int64), 1) - fmt.bias
    quantum = np.ldexp(1.0, unbiased - keep)
    q = np.round(vals / quantum) * quantum  # numpy rounds half to even
    return tensor_bits(torch.from_numpy(q).to(fmt.torch_dtype))


@pytest.mark.parametrize("fmt", [BF16, FP16, FP32])
@pytest.mark.parametrize("keep", [0, 1, 3, 5])
def test_bit_rounding_is_rne_and_leaves_low_bits_zero(fmt, keep):
    rng = np.random.default_rng(keep)
    finite_max = (fmt.max_exponent_field << fmt.mantissa_bits) - 1  # below the all-ones exponent
    raw = rng.integers(0, finite_max, 3000, dtype=np.int64).astype(fmt.uint_dtype)
    raw = raw | (rng.integers(0, 2, raw.size).astype(fmt.uint_dtype) << fmt.uint_dtype.type(fmt.total_bits - 1))
    raw[:4] = np.array([0, 1, 2, (1 << fmt.mantissa_bits) - 1], fmt.uint_dtype)  # zero and subnormals
    out = round_mantissa_bits(raw, fmt, keep)
    drop = fmt.mantissa_bits - keep
    assert not (split_fields(out, fmt)[2] & fmt.uint_dtype.type((1 << drop) - 1)).any()
    ok = split_fields(out, fmt)[1] != fmt.max_exponent_field
    if keep == 0:  # m' = 0: a tie goes to the even *encoding* (exponent LSB 0), not to an even integer significand
        ok &= (split_fields(raw, fmt)[2] != (1 << (fmt.mantissa_bits - 1)))
    ref = rne_reference(raw, fmt, keep)
    assert np.array_equal(out[ok], ref[ok])


def test_bit_rounding_keeps_inf_nan():
    raw = np.array([0x7F80, 0xFF80, 0x7FC1, 0x7F81], np.uint16)
    assert np.array_equal(round_mantissa_bits(raw, BF16, 2), raw)


def test_bit_rounding_ties_to_even_and_carries_into_exponent():
    # bf16 1.0 + 3 ulps (mantissa 0b0000011) to 1 bit: 3/128 < 1/4 -> down to 1.0; 1.0 + 0b1000000 is kept
    one = 0x3F80
    assert round_mantissa_bits(np.array([one | 0b0000011], np.uint16), BF16, 1)[0] == one
    assert round_mantissa_bits(np.array([one | 0b1100000], np.uint16), BF16, 1)[0] == 0x4000  # 1.75 -> 2.0 (tie, even)
    assert round_mantissa_bits(np.array([one | 0b0100000], np.uint16), BF16, 1)[0] == one  # 1.25 -> 1.0 (tie, even)
    assert round_mantissa_bits(np.array([one | 0b1111111], np.uint16), BF16, 3)[0] == 0x4000  # carry to next exponent


def test_eq1_uses_m_prime_and_tables_shrink():
    w = weights(5000, 3)
    c = Constraint(mantissa_bits=3)
    bits = c.apply(w, BF16)
    st = encode_bits(bits, BF16, mantissa_bits=3)
    e = np.unique(split_fields(bits, BF16)[1]).size
    expected = 5000 * (1 + index_bits_for(e) + 3) + 8 * e  # Eq. 1 by hand with m' = 3
    assert st.stored_bits() == expected
    assert st.mantissa.size == -(-5000 * 3 // 8)  # packed mantissa table holds 3 bits per weight
    assert np.array_equal(st.decode_bits(), bits)
    sd = constrain_state_dict({"w": w.reshape(50, 100), "b": torch.ones(3)}, "bf16", c)
    cm = build_container(sd, "bf16", 3)
    fig = measure(cm)
    assert fig["compressed_bits"] == expected and fig["mantissa_bits"] == 3
    assert fig["savings_pct"] == pytest.approx(100 * (5000 * 16 - expected) / (5000 * 16))
    assert fig["savings_fp32_pct"] == pytest.approx(100 * (5000 * 32 - expected) / (5000 * 32))
    assert cm.raw["b"].dtype == torch.bfloat16


def test_constraint_combined_keeps_both_properties():
    w = weights(4000, 5)
    c = Constraint(decimal_digits=3, mantissa_bits=4, exponent_method="a3", index_bits=2)
    bits = c.apply(w, BF16)
    _, e, m = split_fields(bits, BF16)
    assert np.unique(e).size <= 4
    assert not (m & np.uint16(0b111)).any()
    c2 = Constraint(mantissa_bits=4, exponent_method="a2", index_bits=2)
    _, e2, m2 = split_fields(c2.apply(w, BF16), BF16)
    assert np.unique(e2).size <= 4 and not (m2 & np.uint16(0b111)).any()


def test_bad_schedules():
    with pytest.raises(PycompressError):
        bits_schedule("bf16", m_start=9)
    with pytest.raises(PycompressError):
        bits_schedule("bf16", m_start=3, m_stop=4)
    with pytest.raises(PycompressError):
        decimal_schedule("bf16", k_start=1, k_stop=2)


def test_bad_constraints():
    with pytest.raises(PycompressError):
        Constraint(exponent_method="a2", index_bits=None)
    with pytest.raises(PycompressError):
        round_mantissa_bits(np.zeros(2, np.uint16), BF16, 8)
