"""Launch the cocotb testbench sim/test_coded_decoder.py on Verilator for the lanes of entropy-coded codebook tensors.

One `coded_decoder` build per format, wide enough for any tensor (K = 256 entries, 512 symbols, a 12-bit
window; `pycompress.hw.rtl.coded.widest_shape`), cached under sim_build/coded_<format>/. A lane is chosen at
run time: plusargs name its decode-table and codebook images (relabelled for the build), and the testbench
feeds the lane's code words from the same packer (`pycompress.hw.coded_layout`) into the decoder.

    .venv/bin/python sim/coded_harness.py MODEL.pcz [--lanes N]    # every lane of every tensor, one report line each
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

SIM_DIR = Path(__file__).resolve().parent
if str(SIM_DIR) not in sys.path:
    sys.path.insert(0, str(SIM_DIR))

import harness  # noqa: E402

from pycompress.core.formats import get_format  # noqa: E402
from pycompress.hw.coded_layout import CodedTables  # noqa: E402
from pycompress.hw.rtl.coded import coded_sources, lane_images, widest_shape  # noqa: E402

TEST_MODULE = "test_coded_decoder"
TOPLEVEL = "coded_decoder"


def build(fmt: str):
    from cocotb_tools.runner import get_runner

    harness.setup_tools()
    shape = widest_shape(fmt)
    f = get_format(fmt)
    build_dir = harness.BUILD_ROOT / f"coded_{fmt}"
    build_dir.mkdir(parents=True, exist_ok=True)
    runner = get_runner("verilator")
    runner.build(sources=[str(s) for s in coded_sources()], hdl_toplevel=TOPLEVEL,
                 parameters=shape.parameters(f.exponent_bits, f.mantissa_bits), build_dir=str(build_dir),
                 waves=harness.waves_on(), build_args=["-Wno-fatal"], always=False, log_file=str(build_dir / "build.log"))
    return runner, shape


def run_tensor(case_dir: Path, t: CodedTables, seed: int = 1, **options) -> list[dict]:
    """Every lane of `t` through the decoder (one simulator process per lane); one report per lane."""
    runner, shape = build(t.format.name)
    case_dir.mkdir(parents=True, exist_ok=True)
    for name, text in lane_images(t, shape).items():
        (case_dir / name).write_text(text)
    f = t.format
    reports = []
    for p, lane in enumerate(t.lanes):
        exp = t.expected(p).astype(np.uint64)
        fp32 = exp << np.uint64(32 - f.total_bits)  # bf16 and fp32 widen by shifting the bits up
        np.savez(case_dir / f"lane{p}.npz", weight=exp, fp32=fp32, code=lane.code_words())
        report = case_dir / f"report-lane{p}.json"
        report.unlink(missing_ok=True)
        case = {"layer": t.name, "lane": p, "n": lane.count, "format": f.name, "seed": seed,
                "exp_bits": f.exponent_bits, "man_bits": f.mantissa_bits,
                "expected": str((case_dir / f"lane{p}.npz").resolve()), "report": str(report.resolve()), **options}
        case_file = case_dir / f"case-lane{p}.json"
        case_file.write_text(json.dumps(case, indent=1))
        plusargs = [f"+LUT_MEM={(case_dir / f'{t.ident}_lut.mem').resolve()}",
                    f"+BOOK_MEM={(case_dir / f'{t.ident}_book.mem').resolve()}"]
        try:
            runner.test(test_module=TEST_MODULE, hdl_toplevel=TOPLEVEL, testcase=["decode_lane"], test_dir=str(case_dir),
                        build_dir=str(runner.build_dir), plusargs=plusargs, seed=seed, waves=harness.waves_on(),
                        extra_env={"PYCOMPRESS_CASE": str(case_file.resolve())}, log_file=str(case_dir / f"sim-lane{p}.log"))
        except SystemExit:  # cocotb's runner exits under pytest when a test fails; the report says why
            pass
        reports.append(json.loads(report.read_text()) if report.exists() else
                       {"layer": t.name, "lane": p, "n": lane.count, "checked": 0, "passed": False,
                        "error": f"no report; see {case_dir / f'sim-lane{p}.log'}"})
    return reports


def main() -> int:
    from pycompress.core import container
    from pycompress.hw.coded_layout import model_coded_tables

    ap = argparse.ArgumentParser(description="entropy-coded codebook decoder (RTL) on every lane of a model")
    ap.add_argument("model")
    ap.add_argument("--lanes", type=int, default=1)
    ap.add_argument("--out", default="build/coded-rtl")
    a = ap.parse_args()
    cm = container.load(a.model)
    ok = True
    for t in model_coded_tables(cm, {n: a.lanes if st.shape[0] % a.lanes == 0 else 1 for n, st in cm.tensors.items()}):
        for r in run_tensor(Path(a.out) / t.ident, t):
            ok &= bool(r.get("passed"))
            n = r["n"] // 2  # two passes: stalls and backpressure, then always ready (timed)
            print(f"{t.name} lane {r['lane']}: {n:,} weights x 2 passes, bit-exact: {r.get('passed')}; "
                  f"{r.get('cycles', '?')} cycles from start to the last weight with nothing stalled (N + 5 = {n + 5})",
                  flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
