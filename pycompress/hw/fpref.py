"""Bit-exact numpy model of the RTL float units (rtl/fp32_mul.sv, rtl/fp32_mul_core.sv, rtl/fp32_add.sv, rtl/mac_lane.sv).

Operands and results are uint32 bit patterns, vectorised. With `subnormals=True`
a unit is numpy float32 arithmetic (IEEE round to nearest even, gradual
underflow); with `subnormals=False` it is the Xilinx-style flush to zero the RTL
implements with SUBNORMALS=0: subnormal operands become zeros of their own sign,
the IEEE result is computed, and a subnormal result becomes a zero of its sign
(flushed after rounding: a product rounding up to the smallest normal stays).
Any NaN result is the canonical quiet NaN 0x7fc00000, where numpy would
propagate a quieted operand payload (or give 0xffc00000 for inf - inf).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QNAN = np.uint32(0x7FC00000)
MUL_LATENCY = 6  # localparam LATENCY of rtl/fp32_mul.sv (operand unpack + fp32_mul_core)
MUL_CORE_LATENCY = 5  # localparam LATENCY of rtl/fp32_mul_core.sv (the engines' lanes, operands unpacked on load)
ADD_LATENCY = 7  # localparam LATENCY of rtl/fp32_add.sv

_EXP = np.uint32(0x7F800000)
_MAN = np.uint32(0x007FFFFF)
_SIGN = np.uint32(0x80000000)


def reciprocal(n: int) -> np.float32:
    """The float32 constant an average pool of n values multiplies its sum by (a multiplier, not a divider, in
    hardware; for n a power of two the product equals the quotient bit for bit): the HLS kernel, the RTL
    units and the reference all take it from here."""
    return np.float32(1.0 / n)


def as_bits(x) -> np.ndarray:
    """uint32 bit patterns of float32 values (or of uint32 patterns, unchanged)."""
    x = np.asarray(x)
    if x.dtype == np.uint32:
        return x
    return np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)


def as_float(bits) -> np.ndarray:
    return np.ascontiguousarray(bits, dtype=np.uint32).view(np.float32)


def is_nan(bits) -> np.ndarray:
    bits = as_bits(bits)
    return ((bits & _EXP) == _EXP) & ((bits & _MAN) != 0)


def flush(bits) -> np.ndarray:
    """Subnormals to zero of the same sign (Xilinx PG109: a denormal reads as zero with its sign)."""
    bits = as_bits(bits)
    return np.where((bits & _EXP) == 0, bits & _SIGN, bits).astype(np.uint32)


def canonical_nan(bits) -> np.ndarray:
    bits = as_bits(bits)
    return np.where(is_nan(bits), QNAN, bits).astype(np.uint32)


@dataclass(frozen=True)
class FpUnits:
    """The RTL float units of one SUBNORMALS setting, as numpy functions on bit patterns."""

    subnormals: bool = True

    def _op(self, op, a, b) -> np.ndarray:
        a, b = as_bits(a), as_bits(b)
        if not self.subnormals:
            a, b = flush(a), flush(b)
        with np.errstate(all="ignore"):
            r = as_bits(op(as_float(a), as_float(b)))
        if not self.subnormals:
            r = flush(r)
        return canonical_nan(r)

    def mul(self, a, b) -> np.ndarray:
        return self._op(np.multiply, a, b)

    def add(self, a, b) -> np.ndarray:
        return self._op(np.add, a, b)

    def dot(self, w, x, init=None) -> np.ndarray:
        """Sequential float32 dot products along the last axis: acc = acc + w[..., i] * x[..., i] in index
        order, starting from `init` (default +0.0), each product and sum rounded, as the MAC bank does."""
        w, x = np.broadcast_arrays(as_bits(w), as_bits(x))
        acc = np.zeros(w.shape[:-1], np.uint32) if init is None else np.broadcast_to(as_bits(init), w.shape[:-1])
        for i in range(w.shape[-1]):
            acc = self.add(acc, self.mul(w[..., i], x[..., i]))
        return acc

    def linear(self, x, w, b=None, relu: bool = False) -> np.ndarray:
        """What rtl/fc_engine.sv computes: x (N, in), w (out, in), b (out,) -> (N, out) bit patterns.

        Per output: acc = +0 + b*1.0 (the bias enters as the sum's first term: exactly b, but -0 gives +0),
        then acc + w[o, i]*x[i] for i in input order, every product and sum rounded (pycompress/hw/hls/reference.py
        _linear's order); then the fused ReLU as the reference has it: y > 0 ? y : +0 (NaN gives +0)."""
        x, w = as_bits(x), as_bits(w)
        n, out = x.shape[0], w.shape[0]
        b = np.zeros(out, np.uint32) if b is None else as_bits(b)
        acc = np.broadcast_to(self.add(np.uint32(0), self.mul(b, np.float32(1.0).view(np.uint32))), (n, out)).copy()
        for i in range(w.shape[1]):
            acc = self.add(acc, self.mul(w[None, :, i], x[:, i:i + 1]))
        if relu:
            acc = np.where(((acc >> np.uint32(31)) == 0) & ~is_nan(acc), acc, np.uint32(0)).astype(np.uint32)
        return acc

    def conv2d(self, x, w, b=None, stride: int = 1, padding: tuple[int, int] = (0, 0), relu: bool = False) -> np.ndarray:
        """What rtl/conv_engine.sv computes: x (N, IC, IH, IW), w (OC, IC, KH, KW), b (OC,) -> (N, OC, OH, OW) bits.

        Per output: acc = b (the bias is the first term's accumulator, as the HLS kernel's `r == 0 ? bias`),
        then acc + w*x for (ic, ky, kx) in C order, every product and sum rounded (pycompress/hw/hls/reference.py
        _conv's order). A tap in the zero padding adds the product -0 (the engine's -0 * 1), which leaves
        every acc unchanged in IEEE arithmetic, as the reference's skip does; then the fused ReLU."""
        x, w = as_bits(x), as_bits(w)
        n, ic, ih, iw = x.shape
        oc, _, kh, kw = w.shape
        ph, pw = padding
        oh, ow = (ih + 2 * ph - kh) // stride + 1, (iw + 2 * pw - kw) // stride + 1
        b = np.zeros(oc, np.uint32) if b is None else as_bits(b)
        acc = np.broadcast_to(b.reshape(1, oc, 1, 1), (n, oc, oh, ow)).astype(np.uint32)
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        valid = np.pad(np.ones((ih, iw), bool), ((ph, ph), (pw, pw)))
        for c in range(ic):
            for ky in range(kh):
                for kx in range(kw):
                    rows, cols = slice(ky, ky + stride * (oh - 1) + 1, stride), slice(kx, kx + stride * (ow - 1) + 1, stride)
                    prod = self.mul(w[None, :, c, ky, kx, None, None], xp[:, None, c, rows, cols])
                    acc = self.add(acc, np.where(valid[rows, cols], prod, _SIGN).astype(np.uint32))
        if relu:
            acc = np.where(((acc >> np.uint32(31)) == 0) & ~is_nan(acc), acc, np.uint32(0)).astype(np.uint32)
        return acc
