"""The board top (pycompress_accel) under Verilator: a model's engine inside its AXI4-Lite / AXI4-Stream shell.

    python sim/accel_harness.py [--model digits|lenet] [--images N]

Writes the engine and the top into a folder, builds it (cached by the SystemVerilog text in
sim_build/accel_<hash>/), runs sim/accel_cocotb.py and compares the outputs (uint32) with
pycompress.hw.hls.reference; prints the counters the host program reads.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

SIM_DIR = Path(__file__).resolve().parent
REPO = SIM_DIR.parent
for _p in (str(SIM_DIR), str(REPO)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from harness import setup_tools  # noqa: E402

from pycompress.hw.fpref import as_bits  # noqa: E402
from pycompress.hw.plan import plan_rtl  # noqa: E402
from pycompress.hw.rtl.accel import ACCEL_FILE_LIST, ACCEL_TOP, REGISTERS, accel_files  # noqa: E402


def run(name: str, images: int, work: Path, valid: float = 0.8, ready: float = 0.8) -> dict:
    from buildcache import copied_sources, verilator_runner

    import network_harness as nh
    from pycompress.hw.hls.reference import reference_forward
    from pycompress.hw.hls.vectors import dataset_inputs

    setup_tools()
    km = nh.shipped_model(name)
    plan = plan_rtl(km)
    folder = work / f"{name}-accel"
    folder.mkdir(parents=True, exist_ok=True)
    for fname, text in accel_files(plan, km, name).items():
        (folder / fname).write_text(text, encoding="utf-8")
    sources = [folder / n for n in (folder / ACCEL_FILE_LIST).read_text().split()]
    key = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:12]
    build_dir = REPO / "sim_build" / f"accel_{key}"
    copies = copied_sources(sources, build_dir)
    runner = verilator_runner()
    runner.build(sources=[str(s) for s in copies], hdl_toplevel=ACCEL_TOP, build_dir=str(build_dir),
                 build_args=["-Wno-fatal", "-O3", "--output-split", "0"], always=False,
                 log_file=str(build_dir / "build.log"))
    x, _ = dataset_inputs(km.graph, images)
    xb = as_bits(np.ascontiguousarray(x, np.float32)).reshape(images, -1)
    run_dir = work / f"{name}-accel-run"
    run_dir.mkdir(parents=True, exist_ok=True)
    np.save(run_dir / "inputs.npy", xb)
    case = {"inputs": str((run_dir / "inputs.npy").resolve()), "report_dir": str(run_dir.resolve()),
            "registers": dataclasses.asdict(REGISTERS), "n_out": plan.layers[-1].n_out, "stages": len(plan.layers),
            "valid": valid, "ready": ready, "limit": int((images + 2) * plan.latency() * 3 / min(valid, ready))}
    (run_dir / "case.json").write_text(json.dumps(case, indent=1))
    (run_dir / "report.json").unlink(missing_ok=True)
    try:
        runner.test(test_module="accel_cocotb", hdl_toplevel=ACCEL_TOP, test_dir=str(folder.resolve()),
                    build_dir=str(build_dir), extra_env={"ACCEL_CASE": str((run_dir / "case.json").resolve())},
                    log_file=str(run_dir / "sim.log"))
    except SystemExit:
        pass
    rep_path = run_dir / "report.json"
    rep = json.loads(rep_path.read_text()) if rep_path.exists() else {"done": False, "error": f"see {run_dir / 'sim.log'}"}
    want = as_bits(reference_forward(km.graph, km.params, x, canonical_nan=True)).reshape(-1)
    got = np.array(rep.get("outputs", []), np.uint32)
    rep["mismatches"] = int((got != want[:got.size]).sum()) + int(want.size - got.size)
    rep["plan"] = plan
    return rep


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=("digits", "lenet"), default="digits")
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "build" / "accel")
    args = ap.parse_args(argv)
    rep = run(args.model, args.images, args.out)
    if not rep.get("done"):
        print(f"{args.model}: the board top did not finish: {rep.get('error', '')}")
        return 1
    verdict = "bit-exact (uint32)" if not rep["mismatches"] else f"{rep['mismatches']} MISMATCHED"
    print(f"{args.model}: {args.images} images through {ACCEL_TOP} (AXI4-Lite start, streams with gaps and "
          f"backpressure): outputs {verdict}; "
          f"ID 0x{rep['id']:08X}, IMAGES_OUT {rep['images_out']}, RUN_CYCLES {rep['run_cycles']:,}, LATENCY "
          f"{rep['latency']:,}, INTERVAL {rep['interval']:,}, interrupt {rep['interrupt']}")
    print(f"stage intervals {rep['stage_cycles']}, compute cycles {rep['compute_cycles']}")
    return 0 if not rep["mismatches"] else 1


if __name__ == "__main__":
    sys.exit(main())
