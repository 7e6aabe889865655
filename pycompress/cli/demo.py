"""`make demo`: the main job on the embedded default, end to end, with checks."""
from __future__ import annotations

import time
from pathlib import Path

import torch

from pycompress.core import container
from pycompress.compress import CompressConfig, cast_state_dict, compress_state_dict, compressed_stats
from pycompress.core.errors import PycompressError
from pycompress.frontends.lenet import accuracy, load_lenet
from pycompress.core.report import stats_table, table
from pycompress.frontends.shipped import LENET_WEIGHTS, default_lenet
from pycompress.core.verify import first_bit_difference

DEMO_FORMATS = ("fp32", "bf16", "fp16")


def default_model() -> dict[str, torch.Tensor]:
    """The shipped default LeNet-5 (pycompress/models/), the same on every machine."""
    return default_lenet()


def run_demo(build: Path) -> int:
    from pycompress.core.fileio import check_output
    from pycompress.hw.hls.writer import HLS_FOLDER

    for fmt in DEMO_FORMATS:  # the output policy, before any work: never a file or folder the user made
        check_output(build / f"lenet-{fmt}.pcz")
    check_output(build / "hls-bf16", folder=HLS_FOLDER)
    build.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    sd = default_model()
    base_acc = accuracy(load_lenet(sd))
    print(f"default LeNet-5 (shipped weights {LENET_WEIGHTS.name}, float32): {base_acc:.2f}% on the 1,000 test digits\n")
    summary = []
    for fmt in DEMO_FORMATS:
        cm = compress_state_dict(sd, CompressConfig(format=fmt), info={"source": LENET_WEIGHTS.name})
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
    hardware_check(build / "lenet-bf16.pcz", build / "hls-bf16")
    print(f"\ndemo finished in {time.perf_counter() - start:.1f}s")
    return 0


def hardware_check(pcz: Path, project: Path) -> None:
    """Generate the HLS project of the BF16 model and run its C simulation on the 1,000 test digits."""
    from pycompress.hw.hls import generate
    from pycompress.hw.hls.csim import run_csim

    print(f"\n== hardware: HLS project of {pcz} -> {project}, C simulation with g++")
    generate(container.load(pcz), project)
    r = run_csim(project)
    if not (r.weights_bit_exact and r.outputs_bit_exact):
        raise PycompressError(f"C simulation of {project} is not bit-exact: {r.first_difference}")
    print(f"{r.weights_checked:,} parameters decoded by the generated C++ are bit-exact; outputs on {r.images:,} digits "
          f"equal the numpy reference bit for bit; top-1 agreement with PyTorch {r.top1_agreement_pct:.2f}%, "
          f"accuracy {r.kernel_accuracy_pct:.2f}% (compile {r.compile_s:.1f}s, simulate {r.simulate_s:.1f}s)")
