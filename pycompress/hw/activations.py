"""The float32 arithmetic of every activation, softmax and scale-and-shift: one implementation for
the numpy reference and the HLS kernel (hls_templates/activations.h.j2 performs the same operations
in the same order on the same constants), so C simulation stays bit-exact.

Piecewise-linear functions are exact in float32, as torch computes them on the CPU:
  hardtanh(lo, hi): x < lo ? lo : (x > hi ? hi : x)   (ReLU6 is hardtanh(0, 6); NaN stays NaN)
  leaky_relu(a):    x > 0 ? x : x * a
  hardsigmoid:      clamp(x + 3, 0, 6) / 6
  hardswish:        (x * clamp(x + 3, 0, 6)) / 6
(torch's vectorised and scalar CPU paths disagree on the sign of a zero result, so "exact" is up to it).

Transcendental functions are built from float32 multiply, add, divide, compare and one bit-level
scaling by 2^n, with no library call, so that numpy, g++ and Vitis HLS round identically:
  exp(x):   Cody-Waite reduction x = n ln2 + r (n = floor(x log2e + 1/2), ln2 split in C1 + C2),
            e^r by the Cephes expf polynomial, times 2^n built from its exponent bits;
            x > 88 gives +inf, x < -87 gives +0 (the result stays a normal float).
  A NaN input gives the canonical quiet NaN 0x7fc00000 from every transcendental function: the sign and
  payload of a NaN that flows through arithmetic depend on how a compiler orders operands (g++ turns
  1 + (-x) into 1 - x), so they are fixed at the entry instead.
  sigmoid:  1 / (1 + exp(-x))
  silu:     x / (1 + exp(-x))
  tanh:     Cephes tanhf: |x| >= 0.625: sign(x) (1 - 2 / (exp(2|x|) + 1)), |x| > 44: sign(x);
            else the odd polynomial x + x z P(z), z = x^2; tanh(+-0) = +-0
  gelu:     x Phi(x), Phi from erfc by the Chebyshev fit of Numerical Recipes' erfcc (relative error
            < 1.2e-7 in exact arithmetic): erfc(z) = t exp(-z^2 + c0 + t (c1 + ... + t c9)), t = 1 / (1 + z/2),
            z = |x| / sqrt 2; Phi = 1 - erfc/2 for x >= 0, erfc/2 below (no cancellation for negative x)
  gelu_tanh: (0.5 x) (1 + tanh(K0 (x + K1 x^3)))
  softmax:  m = running max (x[i] > m ? x[i] : m); e_i = exp(x_i - m); s = 0 + e_0 + e_1 + ...; y_i = e_i / s
  scale-and-shift: x * scale[c] + shift[c] (two roundings)
Against torch these differ by a few ulp (tanh, sigmoid, exp) to ~1e-7 absolute (gelu); `csim` prints the
top-1 agreement with the user's torch model, which is the accuracy effect on the user's data.

Every float operation goes through `ops` (mul, add, div), so the reference that flushes subnormals
as the Xilinx cores do uses the same code.
"""
from __future__ import annotations

import numpy as np

from pycompress.hw import fpref

F32 = np.float32

# exp: Cephes expf
LOG2E = F32(1.44269504088896341)
EXP_C1 = F32(0.693359375)  # ln 2 = C1 - C2, C1 with 9 significant bits: n * C1 is exact for |n| <= 127
EXP_C2 = F32(-2.12194440e-4)
EXP_P = tuple(F32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                               1.6666665459e-1, 5.0000001201e-1))
EXP_HI, EXP_LO = F32(88.0), F32(-87.0)
# tanh: Cephes tanhf
TANH_P = tuple(F32(c) for c in (-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1,
                                -3.33332819422e-1))
TANH_SMALL, TANH_BIG = F32(0.625), F32(44.0)
# gelu: Numerical Recipes erfcc, c0..c9
ERFC_C = tuple(F32(c) for c in (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
                                -1.13520398, 1.48851587, -0.82215223, 0.17087277))
INV_SQRT2 = F32(0.70710678118654752)
GELU_K0, GELU_K1 = F32(0.79788456080286536), F32(0.044715)  # sqrt(2 / pi); torch's tanh-approximation constants

CONSTANTS = {"LOG2E": LOG2E, "EXP_C1": EXP_C1, "EXP_C2": EXP_C2, "EXP_HI": EXP_HI, "EXP_LO": EXP_LO,
             "TANH_SMALL": TANH_SMALL, "TANH_BIG": TANH_BIG, "INV_SQRT2": INV_SQRT2,
             "GELU_K0": GELU_K0, "GELU_K1": GELU_K1,
             **{f"EXP_P{i}": c for i, c in enumerate(EXP_P)}, **{f"TANH_P{i}": c for i, c in enumerate(TANH_P)},
             **{f"ERFC_C{i}": c for i, c in enumerate(ERFC_C)}}


# The helpers of hls_templates/activations.h.j2 each graph function needs (softmax needs "exp").
HELPERS = {"hardtanh": ("clamp",), "hardsigmoid": ("clamp",), "hardswish": ("clamp",), "leaky_relu": ("leaky_relu",),
           "sigmoid": ("exp", "sigmoid"), "tanh": ("exp", "tanh"), "silu": ("exp", "silu"), "gelu": ("exp", "gelu"),
           "gelu_tanh": ("exp", "tanh", "gelu_tanh"), "softmax": ("exp",)}


def helpers(functions) -> tuple[str, ...]:
    """The sorted helper names of activations.h.j2 that a set of graph functions (and "softmax") need."""
    return tuple(sorted({h for f in functions for h in HELPERS[f]}))


class IeeeOps:
    """IEEE float32 multiply, add and divide (what g++ computes)."""

    @staticmethod
    def mul(a, b):
        return np.multiply(a, b, dtype=F32)

    @staticmethod
    def add(a, b):
        return np.add(a, b, dtype=F32)

    @staticmethod
    def div(a, b):
        return np.divide(a, b, dtype=F32)


def _sub(ops, a, b):
    return ops.add(a, np.negative(np.asarray(b, F32)))


def _horner(ops, coeffs, x):
    p = np.full(np.shape(x), coeffs[0], F32)
    for c in coeffs[1:]:
        p = ops.add(ops.mul(p, x), c)
    return p


def exp(x: np.ndarray, ops=IeeeOps) -> np.ndarray:
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        nan, big, small = x != x, x > EXP_HI, x < EXP_LO
        xc = np.where(nan | big | small, F32(0), x).astype(F32)
        v = ops.add(ops.mul(xc, LOG2E), F32(0.5))
        n = np.trunc(v).astype(np.int32)  # C++: (int)v, then floor
        n = n - (n.astype(F32) > v).astype(np.int32)
        nf = n.astype(F32)
        r = _sub(ops, _sub(ops, xc, ops.mul(nf, EXP_C1)), ops.mul(nf, EXP_C2))
        p = ops.add(ops.add(ops.mul(_horner(ops, EXP_P, r), ops.mul(r, r)), r), F32(1))
        scale = ((n + 127).astype(np.uint32) << np.uint32(23)).view(F32)
        y = ops.mul(p, scale)
    return np.where(nan, x, np.where(big, F32(np.inf), np.where(small, F32(0), y))).astype(F32)


def tanh(x: np.ndarray, ops=IeeeOps) -> np.ndarray:
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        a = np.where(x < 0, -x, x).astype(F32)
        s = exp(ops.add(a, a), ops)
        large = _sub(ops, F32(1), ops.div(F32(2), ops.add(s, F32(1))))
        z = ops.mul(x, x)
        small = ops.add(ops.mul(ops.mul(_horner(ops, TANH_P, z), z), x), x)
        large = np.where(a > TANH_BIG, F32(1), large).astype(F32)
        large = np.where(x < 0, -large, large).astype(F32)
        y = np.where(a >= TANH_SMALL, large, small)
    return np.where(x == 0, x, y).astype(F32)


def sigmoid(x: np.ndarray, ops=IeeeOps) -> np.ndarray:
    with np.errstate(all="ignore"):
        return ops.div(F32(1), ops.add(F32(1), exp(np.negative(np.asarray(x, F32)), ops)))


def silu(x: np.ndarray, ops=IeeeOps) -> np.ndarray:
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        return ops.div(x, ops.add(F32(1), exp(np.negative(x), ops)))


def gelu(x: np.ndarray, ops=IeeeOps) -> np.ndarray:
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        z = ops.mul(np.where(x < 0, -x, x).astype(F32), INV_SQRT2)
        t = ops.div(F32(1), ops.add(F32(1), ops.mul(F32(0.5), z)))
        arg = ops.add(np.negative(ops.mul(z, z)), _horner(ops, ERFC_C[::-1], t))
        half = ops.mul(F32(0.5), ops.mul(t, exp(arg, ops)))
        phi = np.where(x >= 0, _sub(ops, F32(1), half), half).astype(F32)
        return ops.mul(x, phi)


def gelu_tanh(x: np.ndarray, ops=IeeeOps) -> np.ndarray:
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        cube = ops.mul(ops.mul(x, x), x)
        inner = ops.mul(GELU_K0, ops.add(x, ops.mul(GELU_K1, cube)))
        return ops.mul(ops.mul(F32(0.5), x), ops.add(F32(1), tanh(inner, ops)))


QNAN = fpref.QNAN.view(F32)  # the float units' NaN (fpref), as a float


def _canonical(fn):
    """NaN in, canonical quiet NaN out (activations.h.j2 returns it first thing)."""
    def wrapped(x, ops=IeeeOps):
        x = np.asarray(x, F32)
        return np.where(x != x, QNAN, fn(x, ops)).astype(F32)
    wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
    return wrapped


exp, tanh, sigmoid, silu, gelu, gelu_tanh = map(_canonical, (exp, tanh, sigmoid, silu, gelu, gelu_tanh))


def _clamp(x: np.ndarray, lo, hi) -> np.ndarray:
    return np.where(x < lo, F32(lo), np.where(x > hi, F32(hi), x)).astype(F32)


def activation(function: str, params: tuple[float, ...], x: np.ndarray, ops=IeeeOps) -> np.ndarray:
    """One graph Activation layer on float32 values of any shape."""
    x = np.asarray(x, F32)
    with np.errstate(all="ignore"):
        if function == "hardtanh":
            return _clamp(x, F32(params[0]), F32(params[1]))
        if function == "leaky_relu":
            return np.where(x > 0, x, ops.mul(x, F32(params[0]))).astype(F32)
        if function == "hardsigmoid":
            return ops.div(_clamp(ops.add(x, F32(3)), F32(0), F32(6)), F32(6))
        if function == "hardswish":
            return ops.div(ops.mul(x, _clamp(ops.add(x, F32(3)), F32(0), F32(6))), F32(6))
    funcs = {"sigmoid": sigmoid, "tanh": tanh, "silu": silu, "gelu": gelu, "gelu_tanh": gelu_tanh}
    if function not in funcs:
        raise ValueError(f"unknown activation {function!r}")
    return funcs[function](x, ops)


def softmax(x: np.ndarray, ops=IeeeOps) -> np.ndarray:
    """Softmax over the last axis of (N, classes) float32 values, in the kernel's order."""
    x = np.asarray(x, F32)
    m = x[:, 0].copy()
    for i in range(1, x.shape[1]):
        m = np.where(x[:, i] > m, x[:, i], m).astype(F32)
    e = exp(_sub(ops, x, m[:, None]), ops)
    s = np.zeros(x.shape[0], F32)
    for i in range(x.shape[1]):
        s = ops.add(s, e[:, i])
    return ops.div(e, s[:, None])


def scale_shift(x: np.ndarray, scale: np.ndarray, shift: np.ndarray, ops=IeeeOps) -> np.ndarray:
    """x (N, C, ...) * scale[c] + shift[c]."""
    x = np.asarray(x, F32)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return ops.add(ops.mul(x, np.asarray(scale, F32).reshape(shape)), np.asarray(shift, F32).reshape(shape))
