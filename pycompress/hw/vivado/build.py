"""Assemble a build folder (HLS project + scripts + host program) and run the tools on it.

The folder is built beside its final place and renamed into it, so an interrupted run
never leaves a half-written build; the tools then write reports/, out/ and vivado/ into it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pycompress.hw.board import Board
from pycompress.core.errors import PycompressError
from pycompress.core.fileio import inside, read_json_object, write_inside
from .flow import FlowConfig, FlowPlan, plan_flow, write_flow
from .host import ImageSet, write_host
from .manifest import load_manifest
from .reports import read_reports
from .toolcheck import Toolchain


def generate_hls(model: Path, out_dir: Path, baseline: bool, ftz_reference: bool = False, weights: str = "bram") -> None:
    """The HLS generator's project for `model` (compressed kernel, or the float baseline) in out_dir,
    and its open-source estimates beside it (estimates.json) for the Table 7 comparison; `ftz_reference`:
    testbench vectors from the flush-to-zero reference (for C/RTL co-simulation); `weights`: bram or ddr."""
    from pycompress.core import container

    try:
        from pycompress.hw.hls import generate
        from pycompress.hw.hls.estimates import estimate_report
    except ImportError:
        raise PycompressError("the HLS generator (pycompress.hw.hls) is not installed in this checkout") from None
    cm = container.load(model)
    generate(cm, out_dir, baseline=baseline, ftz_reference=ftz_reference, weights=weights)
    report = estimate_report(cm)
    (out_dir.parent / "estimates.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


def model_test_set(model: Path) -> ImageSet:
    """The test split of the model's dataset (as the HLS generator picks it), with labels."""
    from pycompress.core import container
    from pycompress.hw.plan import kernel_model
    from pycompress.hw.hls.vectors import dataset_inputs

    graph = kernel_model(container.load(model)).graph
    x, y = dataset_inputs(graph)
    if y is None:
        raise PycompressError(f"{model}: dataset {graph.dataset!r} has no labelled test split for the host program")
    return ImageSet(x, y, f"{graph.dataset} test split (pycompress.hw.hls.vectors.dataset_inputs)")


def assemble(build_dir: Path, name: str, board: Board, tests: ImageSet, config: FlowConfig = FlowConfig()) -> FlowPlan:
    """Write scripts, constraints, host program and flow.json around build_dir/hls."""
    manifest = load_manifest(build_dir / "hls")
    plan = plan_flow(name, manifest, board, config)
    write_flow(build_dir, plan, board)
    write_host(build_dir, plan, manifest, tests)
    return plan


def _run(cmd: list[str], cwd: Path, log: Path, step: str) -> None:
    print(f"pycompress: {step}: {' '.join(cmd)} (log {log})", file=sys.stderr)
    start = time.perf_counter()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)  # never through a link
    with os.fdopen(fd, "w") as fh:
        proc = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise PycompressError(f"{step} failed (exit {proc.returncode}); see {log}")
    print(f"pycompress: {step} done in {time.perf_counter() - start:.0f} s", file=sys.stderr)


def run_tools(build_dir: Path, plan: FlowPlan, tools: Toolchain) -> None:
    """HLS (csynth + export), Vivado (bitstream, reports, .xsa), then the host program if XSCT is there."""
    logs = inside(build_dir, "logs/hls.log").parent  # made here, never a link
    hls_cmd = [tools.hls.path, "-f", str(build_dir / "scripts" / "run_hls.tcl")]
    _run(hls_cmd, build_dir / plan.hls_dir, logs / "hls.log", f"{tools.hls.name} {tools.hls.version_text}")
    _run([tools.vivado.path, "-mode", "batch", "-notrace", "-nojournal", "-log", str(logs / "vivado_tool.log"),
          "-source", str(build_dir / "scripts" / "vivado_flow.tcl")], build_dir, logs / "vivado.log",
         f"vivado {tools.vivado.version_text}")
    if tools.xsct:
        _run([tools.xsct, str(build_dir / "scripts" / "build_host.tcl")], build_dir, logs / "xsct.log", "xsct host build")
    else:
        print("pycompress: xsct not on PATH: host program sources left in host/src (see docs/vivado.md)", file=sys.stderr)


def run_rtl_tools(build_dir: Path, plan: FlowPlan, tools: Toolchain) -> None:
    """The RTL engine: Vivado packages it as an IP, then the same block design and bitstream; the host if XSCT is there."""
    logs = build_dir / "logs"
    for script, step in (("package_ip.tcl", "package IP"), ("vivado_flow.tcl", "bitstream")):
        _run([tools.vivado.path, "-mode", "batch", "-notrace", "-nojournal", "-log", str(logs / f"vivado_{script[:-4]}.log"),
              "-source", str(build_dir / "scripts" / script)], build_dir, logs / f"{script[:-4]}.log",
             f"vivado {tools.vivado.version_text} ({step})")
    if tools.xsct:
        _run([tools.xsct, str(build_dir / "scripts" / "build_host.tcl")], build_dir, logs / "xsct.log", "xsct host build")
    else:
        print("pycompress: xsct not on PATH: host program sources left in host/src (see docs/vivado.md)", file=sys.stderr)


def summarize(build_dir: Path) -> dict:
    """Parse the build's reports into reports/summary.json and return it."""
    plan = read_json_object(build_dir / "flow.json", "flow plan")
    parsed = read_reports(build_dir / "reports", plan["kernel_cell"])
    summary = {"build": plan["build_name"], "top": plan["top"], "part": plan["part"], "reports": parsed}
    write_inside(build_dir, "reports/summary.json", (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode())
    return summary
