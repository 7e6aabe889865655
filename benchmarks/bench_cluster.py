"""Clustering speed: exact 1-D DP (all k up to k_max in one run) and the k-means++ fallback.

Run: python benchmarks/bench_cluster.py   (or `make bench-cluster`)
"""
from __future__ import annotations

import time

import numpy as np
import torch

from pycompress.sharing.cluster import LayerClusterer


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'weights':>9} {'distinct':>9} {'method':>7} {'k_max':>6} {'seconds':>8} {'codebooks k=2..256':>20}")
    for n, k_max in ((30_720, 16), (30_720, 256), (100_000, 256)):
        w = torch.from_numpy(rng.normal(0, 0.05, n).astype(np.float32))
        lc, t_dp = timed(lambda: LayerClusterer(w, "dp", k_max))
        _, t_books = timed(lambda: [lc.clustered(k) for k in (2, 4, 8, 16, 32, 64, 128, 256) if k <= k_max])
        print(f"{n:>9,} {lc.values.size:>9,} {'dp':>7} {k_max:>6} {t_dp:>8.2f} {t_books:>19.2f}s")
    for n in (30_720, 100_000):
        w = torch.from_numpy(rng.normal(0, 0.05, n).astype(np.float32))
        lc = LayerClusterer(w, "kmeans")
        _, t = timed(lambda: lc.clustered(256))
        print(f"{n:>9,} {lc.values.size:>9,} {'kmeans':>7} {256:>6} {t:>8.2f} {'(k=256 only)':>20}")


if __name__ == "__main__":
    main()
