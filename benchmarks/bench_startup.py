"""Start-up cost of the command line: `pycompress --help` (target under 1 s) and `stats` of a .safetensors
vs a .pt2 (torch's export machinery is imported only for the .pt2). Median of 3 runs each, wall clock."""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 3


def timed(*args: str) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pycompress", *args], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    cases = [("pycompress --help", ["--help"]),
             ("pycompress stats lenet5_mnist.safetensors", ["stats", "pycompress/models/lenet5_mnist.safetensors"]),
             ("pycompress stats resnet_mnist.pt2", ["stats", "examples/resnet_mnist/resnet_mnist.pt2"])]
    for label, args in cases:
        print(f"{label:48s} {timed(*args):6.2f} s (median of {RUNS})", flush=True)


if __name__ == "__main__":
    main()
