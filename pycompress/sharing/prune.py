"""Magnitude pruning per layer, and clustering of a pruned layer (zero kept exact, as its own codebook entry).

A pruning ratio r zeroes the round(r*N) weights of smallest magnitude (ties broken by position), so
masks of growing ratios on one tensor are nested: zeros, having the smallest magnitude, stay zero.
Pruned weights are +0.0 exactly. Clustering a pruned layer into k values gives the zero one entry
and clusters the non-zero weights into k - 1 (exact 1-D DP, as `cluster.py`), so the sparsity the
pruning chose survives clustering and the zero entry can be run-length coded (`coded_codebook`).
"""
from __future__ import annotations

import numpy as np
import torch

from .cluster import DP_CELL_LIMIT, K_MAX, _check_codebook_format, kmeans_centroids, nearest_index, optimal_partition, round_codebook
from pycompress.core.errors import PycompressError
from .share_config import check_ratio  # noqa: F401 (re-exported)
from pycompress.core.formats import bits_tensor, get_format
from pycompress.schemes.codebook import ClusteredTensor, make_clustered


def keep_mask(tensor: torch.Tensor, ratio: float) -> torch.Tensor:
    """Bool mask of the weights kept: the round(ratio*N) smallest magnitudes (first positions on ties) dropped."""
    check_ratio(ratio)
    flat = tensor.detach().cpu().reshape(-1).to(torch.float64).abs().numpy()
    drop = int(round(ratio * flat.size))
    keep = np.ones(flat.size, bool)
    if drop:
        keep[np.argsort(flat, kind="stable")[:drop]] = False
    return torch.from_numpy(keep).reshape(tensor.shape)


def apply_mask(tensor: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Pruned weights set to +0.0 (a product with 0 would leave -0.0 for negative weights)."""
    return torch.where(keep, tensor, torch.zeros((), dtype=tensor.dtype))


def prune(tensor: torch.Tensor, ratio: float) -> torch.Tensor:
    return apply_mask(tensor, keep_mask(tensor, ratio))


class PrunedClusterer:
    """One pruned tensor: the partitions of its non-zero values computed once, cheap for many k."""

    def __init__(self, tensor: torch.Tensor, k_max: int = K_MAX) -> None:
        t = tensor.detach().cpu().reshape(-1)
        x = t.to(torch.float64 if t.dtype == torch.float64 else torch.float32).numpy()
        if x.size == 0 or not np.isfinite(x).all():
            raise PycompressError("cannot cluster an empty tensor or one holding inf or NaN")
        self.shape, self.x = tuple(tensor.shape), x
        self.nonzero = x != 0  # -0.0 counts as zero
        self.has_zero = not bool(self.nonzero.all())
        values, counts = np.unique(x[self.nonzero], return_counts=True)
        self.values, self.counts = values.astype(np.float64), counts.astype(np.float64)
        self.k_top = max(1, min(k_max - int(self.has_zero), self.values.size))
        fits = self.k_top * (self.values.size + 1) <= DP_CELL_LIMIT
        self._partition = optimal_partition(self.values, self.counts, self.k_top) if fits and self.values.size else None

    def _centroids(self, m: int) -> np.ndarray:
        m = max(1, min(m, self.values.size))
        if self._partition is not None and m <= self._partition.k_max:
            return self._partition.centroids(m)
        return kmeans_centroids(self.values, self.counts, m)

    def clustered(self, k: int, codebook_format: str = "fp32") -> ClusteredTensor:
        """At most k shared values: +0.0 for the pruned weights and k - 1 for the others (k for an unpruned layer)."""
        _check_codebook_format(codebook_format)
        if not 2 <= k <= K_MAX:
            raise PycompressError(f"k must be in 2..{K_MAX}, not {k}")
        fmt = get_format(codebook_format)
        index = np.zeros(self.x.size, np.int64)
        if not self.values.size:  # every weight pruned: the codebook is the zero alone
            return make_clustered(np.zeros(1, fmt.uint_dtype), index, self.shape, fmt)
        nz_bits = round_codebook(self._centroids(k - int(self.has_zero)), codebook_format)
        nz_vals = bits_tensor(nz_bits, fmt).to(torch.float64).numpy()
        book = nz_bits
        if self.has_zero:
            book = np.concatenate([np.zeros(1, fmt.uint_dtype), nz_bits[nz_vals != 0]])
            nz_vals = nz_vals[nz_vals != 0]
            if nz_vals.size == 0:  # every centroid rounded to zero
                return make_clustered(book[:1], index, self.shape, fmt)
        offset = int(self.has_zero)
        index[self.nonzero] = nearest_index(self.x[self.nonzero], nz_vals).astype(np.int64) + offset
        return make_clustered(book, index, self.shape, fmt)
