"""Encode/decode throughput and peak memory on a synthetic 22.7M-weight, 40-layer model.

Run with `make bench`. Peak memory is the peak of memory allocated (tracemalloc,
which sees numpy's buffers) while encoding and decoding the whole model,
the model itself included, against the model's FP32 size.
"""
from __future__ import annotations

import argparse
import tracemalloc
import sys
import time

import numpy as np
import torch

from pycompress.schemes.expshare import encode_bits
from pycompress.core.formats import get_format, tensor_bits, to_format

TOTAL_WEIGHTS = 22_700_000
LAYERS = 40


def synthetic_model(total: int = TOTAL_WEIGHTS, layers: int = LAYERS, seed: int = 0) -> list[torch.Tensor]:
    """40 layers of normally distributed weights, sizes growing geometrically like a CNN's."""
    rng = np.random.default_rng(seed)
    raw = np.geomspace(1.0, 60.0, layers)
    sizes = np.floor(raw / raw.sum() * total).astype(int)
    sizes[-1] += total - sizes.sum()
    return [torch.from_numpy((rng.standard_normal(int(n), dtype=np.float32) * 0.05).reshape(-1, 1)) for n in sizes]


def run(formats: list[str], total: int) -> int:
    model = synthetic_model(total)
    n = sum(t.numel() for t in model)
    fp32_mb = n * 4 / 2**20
    print(f"synthetic model: {n:,} weights in {len(model)} layers, {fp32_mb:.1f} MiB as FP32")
    print(f"{'format':>6}  {'encode Mw/s':>11}  {'decode Mw/s':>11}  {'stored MiB':>10}  {'saved %':>7}  {'peak MiB':>8}  {'x FP32 size':>11}")
    for name in formats:
        fmt = get_format(name)
        layers_bits = [tensor_bits(to_format(t, fmt)).copy() for t in model]  # conversion is not part of the codec
        del model[:]  # keep only the model in this format, as a user would
        tracemalloc.start()
        t0 = time.perf_counter()
        encoded = [encode_bits(b, fmt) for b in layers_bits]
        t1 = time.perf_counter()
        ok = all(np.array_equal(enc.decode_bits(), b) for enc, b in zip(encoded, layers_bits))  # untimed check
        t3 = time.perf_counter()
        for enc in encoded:
            enc.decode_bits()
        t4 = time.perf_counter()
        stored = sum(e.sign.nbytes + e.index.nbytes + e.mantissa.nbytes for e in encoded) / 2**20
        saved = 100 * (1 - sum(e.stored_bits() for e in encoded) / (n * fmt.total_bits))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak_mb = peak / 2**20 + n * fmt.total_bits / 8 / 2**20  # the model in this format was allocated before tracing
        print(f"{name:>6}  {n / (t1 - t0) / 1e6:11.1f}  {n / (t4 - t3) / 1e6:11.1f}  {stored:10.1f}  {saved:7.2f}  {peak_mb:8.1f}  {peak_mb / fp32_mb:11.2f}"
              + ("" if ok else "  ROUND TRIP FAILED"))
        if not ok:
            return 1
        del encoded, layers_bits
        model = synthetic_model(total)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--formats", default="bf16,fp16,fp32,fp64")
    ap.add_argument("--weights", type=int, default=TOTAL_WEIGHTS)
    args = ap.parse_args()
    torch.set_num_threads(2)
    return run(args.formats.split(","), args.weights)


if __name__ == "__main__":
    sys.exit(main())
