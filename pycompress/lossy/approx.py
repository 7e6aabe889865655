"""Exponent-based weight approximation (Algorithm 2: A1, A2, A3), per layer, pure numpy.

Every function takes and returns raw bit patterns of one storage format, so the
approximated layer is exactly what the exponent-sharing codec will store.
Choices the paper leaves open are in REFERENCE.md "Lossy methods":
salient = top `target` exponent fields by magnitude (largest field) or by
frequency (most used), ties -> larger exponent; A1 counts zero among them.
"""
from __future__ import annotations

import numpy as np

from pycompress.core.errors import PycompressError
from pycompress.core.formats import FloatFormat, bits_tensor, join_fields, split_fields

METHODS = ("a1", "a2", "a3")
SALIENCIES = ("magnitude", "frequency")


def check_method(method: str, saliency: str) -> None:
    if method not in METHODS:
        raise PycompressError(f"unknown approximation method {method!r}; choose one of {', '.join(METHODS)}")
    if saliency not in SALIENCIES:
        raise PycompressError(f"unknown saliency {saliency!r}; choose one of {', '.join(SALIENCIES)}")


def salient_exponents(exponent: np.ndarray, target: int, saliency: str, keep_zero: bool = False) -> np.ndarray:
    """Ascending exponent fields of the `target` salient exponents of one layer.

    `keep_zero` (A1) forces field 0 into the table, counted among the `target`.
    """
    if target < 1:
        raise PycompressError(f"salient exponent count must be >= 1, got {target}")
    counts = np.bincount(exponent.reshape(-1).astype(np.int64), minlength=1)
    present = np.flatnonzero(counts)
    candidates = present[present != 0] if keep_zero else present
    slots = target - 1 if keep_zero else target
    if saliency == "magnitude":
        chosen = candidates[::-1][:slots]
    elif saliency == "frequency":
        # stable sort on descending count over descending exponent: ties -> larger exponent
        desc = candidates[::-1]
        chosen = desc[np.argsort(-counts[desc], kind="stable")][:slots]
    else:
        raise PycompressError(f"unknown saliency {saliency!r}; choose one of {', '.join(SALIENCIES)}")
    if keep_zero:
        chosen = np.concatenate([chosen, [0]])
    return np.sort(chosen).astype(np.int64)


def approximate_bits(bits: np.ndarray, fmt: FloatFormat, method: str, saliency: str, target: int) -> np.ndarray:
    """One layer's raw bits with at most `target` distinct exponent fields (Algorithm 2)."""
    check_method(method, saliency)
    bits = np.asarray(bits, dtype=fmt.uint_dtype)
    shape = bits.shape
    flat = bits.reshape(-1)
    sign, exponent, mantissa = split_fields(flat, fmt)
    if flat.size == 0 or np.unique(exponent).size <= target:
        return bits.copy()
    salient = salient_exponents(exponent, target, saliency, keep_zero=(method == "a1"))
    is_salient = np.isin(exponent, salient)
    out = flat.copy()
    if method == "a1":
        out[~is_salient] = 0
    elif method == "a2":
        out[~is_salient] = nearest_values(flat[is_salient], flat[~is_salient], fmt)
    else:
        new_exp = nearest_exponents(salient, exponent[~is_salient].astype(np.int64))
        out[~is_salient] = join_fields(sign[~is_salient], new_exp, np.zeros_like(mantissa[~is_salient]), fmt)
    return out.reshape(shape)


def nearest_values(candidate_bits: np.ndarray, query_bits: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """For each query, the raw bits of the nearest candidate value (sorted search; ties -> larger magnitude)."""
    unique = np.unique(np.asarray(candidate_bits, fmt.uint_dtype))
    values = bits_tensor(unique, fmt).double().numpy()
    order = np.argsort(values, kind="stable")
    cand_bits, cand_vals = unique[order], values[order]
    q = bits_tensor(query_bits, fmt).double().numpy()
    hi = np.clip(np.searchsorted(cand_vals, q), 1, max(cand_vals.size - 1, 1)) if cand_vals.size > 1 else np.zeros(q.size, np.int64)
    lo = np.maximum(hi - 1, 0)
    d_lo, d_hi = np.abs(q - cand_vals[lo]), np.abs(cand_vals[hi] - q)
    tie_to_hi = np.abs(cand_vals[hi]) > np.abs(cand_vals[lo])
    pick_hi = (d_hi < d_lo) | ((d_hi == d_lo) & tie_to_hi)
    return np.where(pick_hi, cand_bits[hi], cand_bits[lo]).astype(fmt.uint_dtype)


def nearest_exponents(salient: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """Nearest salient exponent field for each exponent (ties -> the larger one)."""
    salient = np.sort(np.asarray(salient, np.int64))
    hi = np.clip(np.searchsorted(salient, exponent), 0, salient.size - 1)
    lo = np.clip(hi - 1, 0, salient.size - 1)
    pick_lo = np.abs(exponent - salient[lo]) < np.abs(salient[hi] - exponent)
    return np.where(pick_lo, salient[lo], salient[hi])


def index_target(original_index_bits: int, k: int, floor_bits: int = 2) -> int:
    """Index bits of a layer after k iterations of Algorithm 1: layers under 3 bits are skipped."""
    if original_index_bits < floor_bits + 1:
        return original_index_bits
    return max(floor_bits, original_index_bits - k)
