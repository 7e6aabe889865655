"""Bit-accurate numpy model of the generated kernel: the golden reference for C simulation.

Each layer performs the same float32 operations in the same order as the C++
loops in hls_templates/kernel.cpp.j2: one sequential float32 accumulator per
output, starting from the bias, adding product after product in (ic, ky, kx)
or input order. It is vectorised across images and outputs, never across the
reduction, so every intermediate rounding matches the C++.

`subnormals=False` models the Xilinx Floating-Point cores the HLS tools bind the
float operators to (AMD PG109): a subnormal operand of a multiply, add or divide
reads as a zero of its own sign, and a result that is subnormal after rounding is
flushed to a zero of its sign (pycompress.hw.fpref.FpUnits(subnormals=False)). That is
the reference C/RTL co-simulation is compared with bit for bit; the default
(IEEE gradual underflow) is what g++ C simulation computes.

`canonical_nan=True` models the RTL engine's float units (rtl/fp32_mul*.sv, fp32_add.sv): every NaN a
multiply, add or divide makes is 0x7fc00000, where numpy and g++ keep an operand's sign and payload (and
make 0xffc00000 from inf - inf). Comparisons (max pooling, clamps, ReLU) pass a NaN as it is in both.
"""
from __future__ import annotations

import numpy as np

from pycompress.core.graph import (Activation, Add, AvgPool2d, Conv2d, Flatten, GlobalAvgPool, Graph, Linear, MaxPool2d,
    ReLU, ScaleShift, Softmax)
from pycompress.hw import activations
from pycompress.hw.fpref import as_float, canonical_nan, flush, reciprocal  # noqa: F401 (reciprocal: hls/context reads it here)

F32 = np.float32


class _Ops:
    """float32 multiply, add and divide: IEEE, or with subnormal operands and results flushed to signed zero;
    with `canonical_nan`, every NaN result the canonical quiet NaN."""

    def __init__(self, subnormals: bool = True, canonical_nan: bool = False) -> None:
        self.ftz = not subnormals
        self.canonical_nan = canonical_nan

    def flush(self, x: np.ndarray) -> np.ndarray:
        if not self.ftz:
            return x
        return as_float(flush(np.asarray(x, F32))).reshape(np.shape(x))

    def _op(self, op, a, b) -> np.ndarray:
        y = op(a, b) if not self.ftz else self.flush(op(self.flush(a), self.flush(b)))
        if self.canonical_nan:
            y = as_float(canonical_nan(np.asarray(y, F32))).reshape(np.shape(y))
        return y

    def mul(self, a, b) -> np.ndarray:
        return self._op(np.multiply, a, b)

    def add(self, a, b) -> np.ndarray:
        return self._op(np.add, a, b)

    def div(self, a, b) -> np.ndarray:
        return self._op(np.divide, a, b)


IEEE = _Ops(True)


def _conv(x: np.ndarray, layer: Conv2d, w: np.ndarray, b: np.ndarray | None, out_shape, ops: _Ops = IEEE) -> np.ndarray:
    n = x.shape[0]
    oc, oh, ow = out_shape
    (kh, kw), (ph, pw), s = layer.kernel, layer.padding, layer.stride
    ih, iw = x.shape[2], x.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    acc = np.broadcast_to((b if b is not None else np.zeros(oc, F32)).reshape(1, oc, 1, 1), (n, oc, oh, ow)).astype(F32)
    oy = np.arange(oh)[:, None] * s
    ox = np.arange(ow)[None, :] * s
    for ic in range(layer.in_channels):
        for ky in range(kh):
            for kx in range(kw):
                iy, ix = oy + ky - ph, ox + kx - pw
                patch = xp[:, ic, ky:ky + s * (oh - 1) + 1:s, kx:kx + s * (ow - 1) + 1:s]
                prod = ops.mul(patch[:, None, :, :], w[:, ic, ky, kx].reshape(1, oc, 1, 1))
                if ph or pw:
                    valid = (iy >= 0) & (iy < ih) & (ix >= 0) & (ix < iw)
                    acc = np.where(valid, ops.add(acc, prod), acc)
                else:
                    acc = ops.add(acc, prod)
    return acc


def _linear(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, ops: _Ops = IEEE) -> np.ndarray:
    out = w.shape[0]
    acc = np.broadcast_to((b if b is not None else np.zeros(out, F32))[None, :], (x.shape[0], out)).astype(F32)
    for i in range(w.shape[1]):
        acc = ops.add(acc, ops.mul(x[:, i:i + 1], w[:, i][None, :]))
    return acc


def _pool(x: np.ndarray, layer: MaxPool2d | AvgPool2d, out_shape, ops: _Ops = IEEE) -> np.ndarray:
    _, oh, ow = out_shape
    k, s, p = layer.kernel, layer.stride, layer.padding
    if p:  # max: outside taps never win (-inf); average: outside taps are zeros (count_include_pad)
        fill = -np.inf if isinstance(layer, MaxPool2d) else 0.0
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=F32(fill))

    def window(ky: int, kx: int) -> np.ndarray:
        return x[:, :, ky:ky + s * (oh - 1) + 1:s, kx:kx + s * (ow - 1) + 1:s]

    if isinstance(layer, MaxPool2d):
        acc = np.full((x.shape[0], x.shape[1], oh, ow), -np.inf, F32) if p else window(0, 0).copy()
        for ky in range(k):
            for kx in range(k):
                v = window(ky, kx)
                acc = np.where(v > acc, v, acc)
        return acc
    acc = np.zeros((x.shape[0], x.shape[1], oh, ow), F32)
    for ky in range(k):
        for kx in range(k):
            acc = ops.add(acc, window(ky, kx))
    return ops.mul(acc, reciprocal(k * k))


def _gap(x: np.ndarray, ops: _Ops = IEEE) -> np.ndarray:
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    acc = np.zeros((n, c), F32)
    for i in range(h * w):  # the C++ order: one sequential float32 sum per channel
        acc = ops.add(acc, flat[:, :, i])
    return ops.mul(acc, reciprocal(h * w)).reshape(n, c, 1, 1)


def reference_forward(graph: Graph, params: dict[str, np.ndarray], x: np.ndarray, subnormals: bool = True,
                      canonical_nan: bool = False) -> np.ndarray:
    """Kernel outputs (N, output_size) float32 for inputs x (N, *input_shape) float32; `subnormals=False`:
    the Xilinx cores' flush to zero of subnormal operands and results; `canonical_nan=True`: the RTL engine's
    NaNs (see the module docstring)."""
    ops = IEEE if subnormals and not canonical_nan else _Ops(subnormals, canonical_nan)
    with np.errstate(all="ignore"):  # IEEE overflow and inf - inf are what the kernel computes, not faults
        return _forward(graph, params, x, ops)


def _forward(graph: Graph, params: dict[str, np.ndarray], x: np.ndarray, ops: _Ops) -> np.ndarray:
    acts = [np.asarray(x, dtype=F32).reshape(-1, *graph.input_shape)]
    shapes = graph.shapes()
    for layer, src, out_shape in zip(graph.layers, graph.sources(), shapes[1:]):
        x = acts[src[0]]
        if isinstance(layer, Conv2d):
            x = _conv(x, layer, params[layer.weight].astype(F32), params[layer.bias].astype(F32) if layer.bias else None, out_shape, ops)
        elif isinstance(layer, Linear):
            x = _linear(x, params[layer.weight].astype(F32), params[layer.bias].astype(F32) if layer.bias else None, ops)
        elif isinstance(layer, ReLU):
            x = np.where(x > 0, x, F32(0)).astype(F32)
        elif isinstance(layer, (MaxPool2d, AvgPool2d)):
            x = _pool(x, layer, out_shape, ops)
        elif isinstance(layer, Flatten):
            x = x.reshape(x.shape[0], -1)
        elif isinstance(layer, GlobalAvgPool):
            x = _gap(x, ops)
        elif isinstance(layer, Add):
            x = ops.add(x, acts[src[1]]).astype(F32)
        elif isinstance(layer, Activation):  # pycompress/hw/activations.py: the kernel's arithmetic
            x = activations.activation(layer.function, layer.params, x, ops)
        elif isinstance(layer, ScaleShift):
            x = activations.scale_shift(x, params[layer.scale], params[layer.shift], ops)
        elif isinstance(layer, Softmax):
            x = activations.softmax(x, ops)
        else:  # pragma: no cover - Graph only holds the types above
            raise TypeError(type(layer).__name__)
        acts.append(x)
    return np.ascontiguousarray(acts[-1].reshape(acts[-1].shape[0], -1), dtype=F32)
