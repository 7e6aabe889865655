"""Peak memory and time of each refusal of a hostile input (issue 23): bombs and hangs end in one line.

Run with `make bench-hostile` (or `python benchmarks/bench_hostile.py`). Each crafted input
(tests/hostile_inputs.py: a few MiB at most, built in milliseconds) goes through the real CLI in
a subprocess; a wrapper process reports the command's own peak resident memory
(getrusage RUSAGE_CHILDREN ru_maxrss) and the wall time. The floor the issue sets: every bomb
refused below 1 GB, every hang ended within 5 s (wall time includes the ~2-5 s Python and torch
import of the CLI, which the ~1-2 s `python -m pycompress --help` line measures for comparison).
What each input did before the fix is the issue's probe figure, quoted in the `before` column.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import hostile_inputs as h  # noqa: E402


def _fifo_image(project: Path) -> None:
    image = project / "ddr" / "weights.bin"
    image.unlink()
    os.mkfifo(image)


def _cases(tmp: Path, project: Path | None, lenet: Path) -> list[tuple[str, str, str, tuple, object]]:
    """(what, kind: bomb or hang, the probe's figure before the fix, argv, a step to run first or None)."""
    fifo = tmp / "p.json"
    os.mkfifo(fifo)
    cases = [
        ("CLI start-up (reference)", "-", "-", ("--help",), None),
        (".pcz header \" + \\\" x 300,000 (600 KB)", "hang", "~17 min (200 KB: 117 s)",
         ("stats", h.pcz_header_hang(tmp / "hang.pcz")), None),
        (".pcz header [0,0,...] 60 MiB", "bomb", "7.5 GB", ("stats", h.pcz_header_memory(tmp / "mem.pcz")), None),
        (".pt 1 MiB, deflated 1 GiB storage", "bomb", "2.55 GB",
         ("compress", h.pt_bomb(tmp / "bomb.pt"), "-o", tmp / "x.pcz"), None),
        (".npz 2 MiB, deflated 2 GiB x (evaluate)", "bomb", "11.5 GB, 113 s",
         ("evaluate", lenet, "--data", h.npz_bomb(tmp / "b.npz")), None),
        (".npz header declares 32 GiB", "bomb", "-", ("evaluate", lenet, "--data", h.npz_declares_more(tmp / "d.npz")), None),
        (".onnx input 1x1x6000x6000", "bomb", "3.3 GB", ("stats", h.onnx_declares_huge_input(tmp / "in.onnx")), None),
        (".onnx conv pads 100,000", "bomb", "-", ("stats", h.onnx_huge_pads(tmp / "pads.onnx")), None),
        ("generate --parallel FIFO", "hang", "blocks forever", ("generate", lenet, "-o", tmp / "g", "--parallel", fifo), None),
    ]
    if project is not None:
        cases += [(".npz bomb to csim --data", "bomb", "11.5 GB, 113 s", ("csim", project, "--data", tmp / "b.npz"), None),
                  ("csim, ddr/weights.bin a FIFO", "hang", "blocks forever", ("csim", project, "--images", "1"),
                   lambda: _fifo_image(project))]
    return cases


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-csim", action="store_true", help="skip the two cases that need a generated DDR project")
    args = ap.parse_args()
    from pycompress.compress import CompressConfig, compress_state_dict
    from pycompress.core import container
    from pycompress.frontends.shipped import default_lenet

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        lenet = tmp / "lenet.pcz"
        container.save(compress_state_dict(default_lenet(), CompressConfig("bf16")), lenet)
        project = None
        if not args.no_csim:
            from pycompress.hw.hls.writer import generate

            project = generate(container.load(lenet), tmp / "ddr", weights="ddr", progress=False)
        print(f"{'input':40} {'size':>11} {'before (probe)':>24} {'peak RSS':>10} {'wall':>7} {'-start':>7}  refusal")
        worst, startup = {"bomb": 0.0, "hang": 0.0}, 0.0
        for what, kind, before, argv, prepare in _cases(tmp, project, lenet):
            if prepare is not None:
                prepare()
            files = [a for a in argv[1:] if isinstance(a, Path) and a.is_file() and a != lenet]
            size = f"{files[-1].stat().st_size:,} B" if files else "-"
            r = h.run_measured(*argv, timeout=300)
            line = (r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or [""])[0]
            startup = startup or r.seconds  # the first case is the bare start-up
            print(f"{what:40} {size:>11} {before:>24} {r.peak_bytes / 2**20:6.0f} MiB {r.seconds:6.1f}s "
                  f"{r.seconds - startup:+6.1f}s  exit {r.returncode}: {line[:100]}")
            if kind in worst:
                worst[kind] = max(worst[kind], r.peak_bytes if kind == "bomb" else r.seconds)
        print(f"largest peak RSS refusing a bomb: {worst['bomb'] / 2**20:.0f} MiB (floor: 1 GB); longest hang case: "
              f"{worst['hang']:.1f} s wall with the {startup:.1f} s CLI start-up (floor: 5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
