"""Python reference model of the RTL weight stream: what every output beat must hold.

The weight in its format is the Python codec's decode (`decode_bits`), so the RTL
is compared with the codec itself, not with a second implementation of it. The
FP32 widening is written out in numpy because torch's `.float()` is not one
function: its vectorised CPU kernel quiets an FP16 NaN (sets mantissa bit 22,
keeps the payload), while a one-element tensor takes a scalar path that returns
0x7fffffff for FP16 signalling NaNs. The hardware follows the vectorised kernel;
tests/test_rtl_refmodel.py checks this model against it for all 65,536 FP16 and
BF16 bit patterns.
"""
from __future__ import annotations

import numpy as np

from pycompress.core.formats import FloatFormat, get_format


def widen_fp32_bits(bits: np.ndarray, fmt: FloatFormat | str) -> np.ndarray:
    """Raw FP32 bits of each `fmt` value widened exactly (uint32)."""
    fmt = get_format(fmt)
    b = np.asarray(bits).astype(np.uint32).reshape(-1)
    if fmt.exponent_bits == 8 and fmt.total_bits <= 32:  # fp32, bf16: same exponent, pad the mantissa
        return b << np.uint32(32 - fmt.total_bits)
    if fmt.name != "fp16":
        raise ValueError(f"no FP32 widening for {fmt.name}")
    sign = (b >> 15) << 31
    e = (b >> 10) & 0x1F
    m = b & 0x3FF
    out = sign | ((e + 112) << 23) | (m << 13)  # normal numbers: rebias 15 -> 127
    special = e == 0x1F
    out[special] = sign[special] | 0x7F800000 | (m[special] << 13) | np.where(m[special] != 0, 0x400000, 0).astype(np.uint32)
    zero = (e == 0) & (m == 0)
    out[zero] = sign[zero]
    sub = (e == 0) & (m != 0)
    lead = np.floor(np.log2(m[sub].astype(np.float64))).astype(np.uint32)  # exact for 10-bit integers
    frac = ((m[sub] << (np.uint32(23) - lead)) & 0x7FFFFF).astype(np.uint32)
    out[sub] = sign[sub] | ((lead + 103) << 23) | frac
    return out.astype(np.uint32)


def expected_stream(tensor) -> tuple[np.ndarray, np.ndarray]:
    """(weight bits in the tensor's format, FP32 bits) in table (C) order, for an ExpShareTensor or ClusteredTensor."""
    bits = np.asarray(tensor.decode_bits()).reshape(-1)
    return bits.astype(np.uint64), widen_fp32_bits(bits, tensor.fmt)
