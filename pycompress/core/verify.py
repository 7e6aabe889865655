"""Bit-exact comparison that names the first differing element."""
from __future__ import annotations

import numpy as np
import torch

from .formats import tensor_bits


def raw_bits(t: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        if t.is_floating_point():
            return tensor_bits(t)
        return t.detach().cpu().numpy()
    arr = np.asarray(t)
    if arr.dtype.kind == "f":
        return arr.view(np.dtype(f"uint{arr.dtype.itemsize * 8}"))
    return arr


def first_bit_difference(expected: torch.Tensor | np.ndarray, actual: torch.Tensor | np.ndarray) -> str | None:
    """None when both hold the same dtype, shape and bits; else a message naming the first difference."""
    if isinstance(expected, torch.Tensor) and isinstance(actual, torch.Tensor) and expected.dtype != actual.dtype:
        return f"dtype {actual.dtype} != {expected.dtype}"
    a, b = raw_bits(expected), raw_bits(actual)
    if a.shape != b.shape:
        return f"shape {b.shape} != {a.shape}"
    if a.dtype != b.dtype:
        return f"dtype {b.dtype} != {a.dtype}"
    neq = np.flatnonzero(a.reshape(-1) != b.reshape(-1))
    if neq.size == 0:
        return None
    k = int(neq[0])
    pos = np.unravel_index(k, a.shape) if a.ndim else ()
    width = a.dtype.itemsize * 2
    return f"{neq.size} of {a.size} elements differ; first at {tuple(int(p) for p in pos)}: expected 0x{int(a.reshape(-1)[k]):0{width}x}, got 0x{int(b.reshape(-1)[k]):0{width}x}"
