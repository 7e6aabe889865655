"""Weight sharing by clustering (Dupuis et al., DDECS 2020): k shared values per layer.

The codebook of a layer is the exact 1-D optimum of within-cluster squared
error (dynamic programming over the sorted distinct values weighted by their
counts, divide-and-conquer over each DP layer, vectorised level by level), or
k-means++ with a fixed seed where the DP table would not fit. The cluster means
are rounded to the codebook format (fp32 or bf16) and every weight then takes
the index of its nearest codebook value, so decode gives exactly codebook[index].
Storage is `codebook.ClusteredTensor`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch

from pycompress.schemes.codebook import CODEBOOK_FORMATS, ClusteredTensor, codebook_index_bits, make_clustered
from pycompress.schemes.expshare import encode_bits
from pycompress.compress import cast_state_dict, is_encoded
from pycompress.core.container import CompressedModel
from pycompress.core.errors import PycompressError
from pycompress.core.formats import bits_tensor, get_format, tensor_bits

from .defaults import K_MAX, K_MIN

# The DP keeps a (k_max x n) int32 argmin table: above this many cells, use k-means++ instead.
DP_CELL_LIMIT = 50_000_000
EXPSHARE = "expshare"  # plan entry: lossless exponent sharing instead of clustering


@dataclass(frozen=True, eq=False)
class Partition:
    """Optimal contiguous partitions of sorted weighted values for every k <= k_max."""

    values: np.ndarray  # sorted distinct values, float64
    counts: np.ndarray  # weight (multiplicity) of each value, float64
    sse: np.ndarray  # sse[m - 1]: least within-cluster squared error with m clusters
    argmin: np.ndarray  # argmin[m - 1, j]: start of the last of m clusters covering values[:j]

    @property
    def k_max(self) -> int:
        return int(self.sse.size)

    def starts(self, k: int) -> np.ndarray:
        """Start index (into `values`) of each of the k clusters, ascending."""
        if not 1 <= k <= self.k_max:
            raise ValueError(f"k={k} outside 1..{self.k_max}")
        out, j = [], self.values.size
        for m in range(k, 0, -1):
            j = int(self.argmin[m - 1, j])
            out.append(j)
        return np.array(out[::-1], dtype=np.int64)

    def centroids(self, k: int) -> np.ndarray:
        """Weighted means of the k optimal clusters (float64, ascending)."""
        starts = self.starts(k)
        s = np.add.reduceat(self.values * self.counts, starts)
        w = np.add.reduceat(self.counts, starts)
        return s / w


def _prefix(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = values - np.average(values, weights=counts)  # centred: less cancellation in the prefix sums
    zero = np.zeros(1)
    return (np.concatenate([zero, np.cumsum(counts)]), np.concatenate([zero, np.cumsum(counts * x)]),
            np.concatenate([zero, np.cumsum(counts * x * x)]))


def _cost(W, S, Q, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Squared error of values[i:j] around their weighted mean (j > i)."""
    s = S[j] - S[i]
    return np.maximum(Q[j] - Q[i] - s * s / (W[j] - W[i]), 0.0)


def optimal_partition(values: np.ndarray, counts: np.ndarray | None = None, k_max: int = K_MAX) -> Partition:
    """Exact 1-D k-means for k = 1..k_max by DP; each DP layer by divide and conquer on the
    monotone argmin (the squared-error cost satisfies the quadrangle inequality), all
    sub-problems of one recursion depth processed together as flat numpy arrays."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    w = np.ones_like(x) if counts is None else np.asarray(counts, dtype=np.float64).reshape(-1)
    if x.size == 0 or x.size != w.size or np.any(np.diff(x) <= 0):
        raise ValueError("values must be non-empty, strictly increasing, one count each")
    n = x.size
    k_max = max(1, min(int(k_max), n))
    W, S, Q = _prefix(x, w)
    argmin = np.zeros((k_max, n + 1), dtype=np.int32)
    sse = np.empty(k_max)
    prev = np.full(n + 1, np.inf)
    prev[1:] = _cost(W, S, Q, np.zeros(n, np.int64), np.arange(1, n + 1))
    sse[0] = prev[n]
    for m in range(2, k_max + 1):
        cur = np.full(n + 1, np.inf)
        # segments of targets [jl, jr] whose optimum lies in [ol, orr]
        jl, jr = np.array([m]), np.array([n])
        ol, orr = np.array([m - 1]), np.array([n - 1])
        while jl.size:
            mid = (jl + jr) // 2
            lo, hi = ol, np.minimum(orr, mid - 1)
            best = np.empty(jl.size, np.int64)
            for a, b in _batches(hi - lo + 1):  # bounded temporaries: about DP_BATCH candidates at a time
                best[a:b] = _best_split(prev, W, S, Q, lo[a:b], hi[a:b], mid[a:b])
            cur[mid] = prev[best] + _cost(W, S, Q, best, mid)
            argmin[m - 1, mid] = best
            left, right = mid - 1 >= jl, mid + 1 <= jr
            jl, jr, ol, orr = (np.concatenate([jl[left], mid[right] + 1]), np.concatenate([mid[left] - 1, jr[right]]),
                               np.concatenate([ol[left], best[right]]), np.concatenate([best[left], orr[right]]))
        sse[m - 1] = cur[n]
        prev = cur
    return Partition(x, w, sse, argmin)


DP_BATCH = 1 << 20  # candidate splits evaluated together: the DP's temporaries stay near 50 MB


def _batches(lengths: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive segment ranges [a, b) whose candidate counts sum to about DP_BATCH (at least one segment)."""
    ends = np.cumsum(lengths)
    out, a = [], 0
    while a < lengths.size:
        base = ends[a - 1] if a else 0
        b = max(a + 1, int(np.searchsorted(ends, base + DP_BATCH, side="right")))
        out.append((a, b))
        a = b
    return out


def _best_split(prev, W, S, Q, lo: np.ndarray, hi: np.ndarray, mid: np.ndarray) -> np.ndarray:
    """For each segment, the first i in [lo, hi] minimising prev[i] + cost(i, mid)."""
    lengths = hi - lo + 1
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    seg = np.repeat(np.arange(lo.size), lengths)
    i = lo[seg] + (np.arange(seg.size) - starts[seg])
    val = prev[i] + _cost(W, S, Q, i, mid[seg])
    best_val = np.minimum.reduceat(val, starts)
    first = np.minimum.reduceat(np.where(val == best_val[seg], np.arange(val.size), val.size), starts)
    return i[first]


def kmeans_centroids(values: np.ndarray, counts: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Weighted k-means++ (scikit-learn, one fixed-seed run): the fallback for very large layers."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, init="k-means++", n_init=1, random_state=seed)
    km.fit(values.reshape(-1, 1), sample_weight=counts)
    return np.sort(km.cluster_centers_.reshape(-1).astype(np.float64))


NEAREST_CHUNK = 1 << 20  # weights per slice in nearest_index: float64/int64 temporaries stay small


def nearest_index(x: np.ndarray, book: np.ndarray) -> np.ndarray:
    """Index of the nearest value of the ascending `book` for each x (ties to the lower value); sliced so the
    float64 and int64 temporaries are bounded whatever the layer size."""
    mids = (book[:-1] + book[1:]) / 2
    flat = np.asarray(x).reshape(-1)
    out = np.empty(flat.size, np.uint16)
    for i in range(0, flat.size, NEAREST_CHUNK):
        out[i:i + NEAREST_CHUNK] = np.searchsorted(mids, flat[i:i + NEAREST_CHUNK].astype(np.float64), side="left")
    return out


def round_codebook(centroids: np.ndarray, fmt: str) -> np.ndarray:
    """Means rounded to the codebook format (float64 -> fp32 -> bf16, RNE as torch does), deduplicated,
    returned as ascending raw bit patterns."""
    f = get_format(fmt)
    t = torch.from_numpy(np.asarray(centroids, dtype=np.float64)).to(torch.float32).to(f.torch_dtype)
    vals = np.unique(t.to(torch.float64).numpy())  # bf16 rounding may merge neighbouring means
    return tensor_bits(torch.from_numpy(vals).to(torch.float32).to(f.torch_dtype))


class LayerClusterer:
    """One tensor's distinct values and, computed once, its partitions for every k: cheap for many k."""

    def __init__(self, tensor: torch.Tensor, method: str = "auto", k_max: int = K_MAX) -> None:
        if method not in ("auto", "dp", "kmeans"):
            raise PycompressError(f"unknown clustering method {method!r} (auto, dp, kmeans)")
        t = tensor.detach().cpu().reshape(-1)
        # float32 holds fp32/bf16/fp16 values exactly at half the memory of float64; fp64 stays fp64
        x = t.to(torch.float64 if t.dtype == torch.float64 else torch.float32).numpy()
        if x.size == 0:
            raise PycompressError("cannot cluster an empty tensor")
        if not np.isfinite(x).all():
            raise PycompressError("cannot cluster a tensor holding inf or NaN")
        self.shape = tuple(tensor.shape)
        self.x = x
        values, counts = np.unique(x, return_counts=True)
        self.values, self.counts = values.astype(np.float64), counts.astype(np.float64)
        k_top = min(k_max, self.values.size)
        if method == "auto":
            method = "dp" if k_top * (self.values.size + 1) <= DP_CELL_LIMIT else "kmeans"
        self.method = method
        self._partition = optimal_partition(self.values, self.counts, k_top) if method == "dp" else None

    def centroids(self, k: int) -> np.ndarray:
        if not K_MIN <= k <= K_MAX:
            raise PycompressError(f"k must be in {K_MIN}..{K_MAX}, not {k}")
        k = min(k, self.values.size)
        if self._partition is not None and k <= self._partition.k_max:
            return self._partition.centroids(k)
        return kmeans_centroids(self.values, self.counts, k)

    def clustered(self, k: int, codebook_format: str = "fp32") -> ClusteredTensor:
        """The layer with at most k shared values, codebook rounded to `codebook_format`."""
        _check_codebook_format(codebook_format)
        book_bits = round_codebook(self.centroids(k), codebook_format)
        book_vals = _bits_to_float64(book_bits, codebook_format)
        return make_clustered(book_bits, nearest_index(self.x, book_vals), self.shape, codebook_format)


def _bits_to_float64(bits: np.ndarray, fmt: str) -> np.ndarray:
    return bits_tensor(np.asarray(bits), get_format(fmt)).to(torch.float64).numpy()


def cluster_tensor(tensor: torch.Tensor, k: int, codebook_format: str = "fp32", method: str = "auto") -> ClusteredTensor:
    """One tensor clustered into at most k shared values (fewer if it has fewer distinct values)."""
    _check_codebook_format(codebook_format)
    return LayerClusterer(tensor, method, k_max=k).clustered(k, codebook_format)


def _check_codebook_format(fmt: str) -> None:
    if fmt not in CODEBOOK_FORMATS:
        raise PycompressError(f"codebook format must be one of {', '.join(CODEBOOK_FORMATS)}, not {fmt}")


def cluster_state_dict(state_dict: Mapping[str, torch.Tensor], plan: Mapping[str, int | str] | int,
                       codebook_format: str = "fp32", base_format: str = "fp32", method: str = "auto",
                       info: dict | None = None, prebuilt: Mapping[str, object] | None = None,
                       graph: dict | None = None) -> CompressedModel:
    """A container mixing, per weight tensor, clustering (plan value k) and lossless exponent
    sharing in `base_format` (plan value "expshare"); an int plan clusters every weight tensor.
    Tensors that are not weights (biases, integers) are kept raw in `base_format`, as
    `compress_state_dict` does. `prebuilt` supplies already encoded tensors by name (a cache).
    `graph`: the layer graph of the input (a .pcz's); else the shipped built-in's, by weights digest."""
    _check_codebook_format(codebook_format)
    cast = cast_state_dict(state_dict, base_format)
    weights = [name for name, t in state_dict.items() if is_encoded(t, False)]
    if isinstance(plan, int):
        plan = {name: plan for name in weights}
    unknown = sorted(set(plan) - set(weights))
    if unknown:
        raise PycompressError(f"plan names tensors that are not weight tensors of the model: {', '.join(unknown)}")
    tensors, raw = {}, {}
    for name, t in cast.items():
        choice = plan.get(name, EXPSHARE) if name in weights else None
        if choice is None:
            raw[name] = t
        elif prebuilt is not None and name in prebuilt:
            tensors[name] = prebuilt[name]
        elif choice == EXPSHARE:
            tensors[name] = encode_bits(tensor_bits(t), base_format)
        else:
            tensors[name] = cluster_tensor(state_dict[name], int(choice), codebook_format, method)
    from pycompress.frontends.graph_builtin import infer_graph  # the input's graph, or a shipped built-in's (weights digest): never guessed

    return CompressedModel(get_format(base_format).name, tuple(cast), tensors, raw, graph=graph or infer_graph(state_dict),
                           info=dict(info or {}))


# ---- accounting (codebook included) ----

def cluster_bits(n: int, k: int, codebook_bits: int = 32) -> int:
    """Stored bits of one clustered layer: N*ceil(log2 k) + k*codebook bits."""
    return n * codebook_index_bits(k) + k * codebook_bits


@dataclass(frozen=True)
class SharingLayerStats:
    name: str
    scheme: str  # "cluster" or "expshare"
    n: int
    k: int  # codebook size (clustering) or exponent-table size (exponent sharing)
    index_bits: int
    stored_bits: int

    def rate(self, reference_bits: int = 32) -> float:
        """Compression rate against `reference_bits`-bit weights (32: FP32, 16: BF16)."""
        return reference_bits * self.n / self.stored_bits


@dataclass(frozen=True)
class SharingStats:
    layers: tuple[SharingLayerStats, ...]
    raw_numel: int  # tensors kept as they are (biases)
    raw_bits: int

    @property
    def n(self) -> int:
        return sum(s.n for s in self.layers)

    @property
    def stored_bits(self) -> int:
        return sum(s.stored_bits for s in self.layers)

    def rate(self, reference_bits: int = 32) -> float:
        """Weights only, the paper's figure: sum of reference bits / sum of stored bits."""
        return reference_bits * self.n / self.stored_bits

    def rate_all(self, reference_bits: int = 32) -> float:
        """Whole model, the raw tensors (biases) included at their stored size."""
        return reference_bits * (self.n + self.raw_numel) / (self.stored_bits + self.raw_bits)

    def to_dict(self) -> dict:
        return {
            "layers": [{"name": s.name, "scheme": s.scheme, "n": s.n, "k": s.k, "index_bits": s.index_bits,
                        "stored_bits": s.stored_bits, "rate_fp32": s.rate(32), "rate_bf16": s.rate(16)} for s in self.layers],
            "n": self.n, "stored_bits": self.stored_bits, "rate_fp32": self.rate(32), "rate_bf16": self.rate(16),
            "raw_numel": self.raw_numel, "raw_bits": self.raw_bits,
            "rate_fp32_all": self.rate_all(32), "rate_bf16_all": self.rate_all(16),
        }


def layer_sharing_stats(name: str, st) -> SharingLayerStats:
    k = st.k if st.scheme == "cluster" else st.distinct_exponents
    return SharingLayerStats(name, st.scheme, st.numel, k, st.index_bits, st.stored_bits())


def sharing_stats(cm: CompressedModel) -> SharingStats:
    layers = tuple(layer_sharing_stats(name, cm.tensors[name]) for name in cm.order if name in cm.tensors)
    if not layers:
        raise PycompressError("the container holds no encoded tensors")
    raw_numel = sum(t.numel() for t in cm.raw.values())
    raw_bits = sum(t.numel() * t.element_size() * 8 for t in cm.raw.values())
    return SharingStats(layers, raw_numel, raw_bits)
