"""Every layer of a huffman container through rtl/huffman_streamer.sv under Verilator (issue 15).

    python sim/huffman_streamer.py MODEL.pcz --images DIR [--work DIR] [--seed S]

DIR is what `pycompress rtl MODEL.pcz -o DIR` wrote: the decoder images, `huffman_layers.svh`
and the `huffman_weights` top (one streamer per layer, on-chip code ROM and block offsets).
The top is built once per distinct include and sources (cached under sim_build/huffman_streamer_<digest>/);
the cocotb test sim/huffman_streamer_cocotb.py streams every weight of every layer with random
backpressure and from every block start, checks it bit for bit against the Python decode and
measures N weights in N + c cycles with ready held high. Prints one line per layer; exit 1 on
any mismatch.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

SIM_DIR = Path(__file__).resolve().parent
if str(SIM_DIR) not in sys.path:
    sys.path.insert(0, str(SIM_DIR))

import harness  # noqa: E402
from refmodel import expected_stream  # noqa: E402

from pycompress.core import container  # noqa: E402
from pycompress.hw.huffman_layout import huffman_tables  # noqa: E402
from pycompress.hw.rtl.huffman import INCLUDE, TOP, decoder_params, huffman_sources  # noqa: E402

TEST_MODULE = "huffman_streamer_cocotb"


def run(model: Path, images: Path, work: Path, seed: int = 1) -> dict:
    """Build (or reuse) the top of `images`, run the cocotb test in `work`; the report."""
    from buildcache import verilator_runner

    harness.setup_tools()
    tables = huffman_tables(container.load(model))
    if not tables:
        raise SystemExit(f"{model}: no entropy-coded tensors")
    top = images / f"{TOP}.sv"
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in (*huffman_sources(), images / INCLUDE, top))).hexdigest()[:12]
    build_dir = harness.BUILD_ROOT / f"huffman_streamer_{digest}"
    runner = verilator_runner()
    runner.build(sources=[*map(str, huffman_sources()), str(top)], includes=[str(images)], hdl_toplevel=TOP,
                 build_dir=str(build_dir), build_args=["-Wno-fatal", "-O3", "--output-split", "0"], always=False,
                 log_file=str(build_dir / "build.log"))
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for mem in images.glob("*.mem"):  # $readmemh paths are relative to the simulation's folder
        shutil.copyfile(mem, work / mem.name)
    layers = []
    for t in tables:
        p = decoder_params(t)
        weight, fp32 = expected_stream(t.tensor)
        np.savez(work / f"{t.ident}_expected.npz", weight=weight, fp32=fp32)
        layers.append({"layer": t.name, "ident": t.ident, "n": t.depth, "block": p.block, "num_blocks": p.num_blocks,
                       "expected": str((work / f"{t.ident}_expected.npz").resolve())})
    case = work / "case.json"
    case.write_text(json.dumps({"seed": seed, "report_dir": str(work.resolve()), "layers": layers}, indent=1))
    report = work / "report-stream_layers.json"
    try:
        runner.test(test_module=TEST_MODULE, hdl_toplevel=TOP, test_dir=str(work), build_dir=str(build_dir), seed=seed,
                    extra_env={"PYCOMPRESS_CASE": str(case.resolve()), "PYTHONPATH": str(SIM_DIR)},
                    log_file=str(work / "sim.log"))
    except SystemExit:  # the runner exits when a test fails; the report says why
        pass
    if not report.exists():
        return {"passed": False, "layers": [], "weights": 0, "error": f"no report; see {work / 'sim.log'}"}
    return json.loads(report.read_text())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--images", type=Path, required=True, help="folder written by `pycompress rtl MODEL -o DIR`")
    ap.add_argument("--work", type=Path, default=None, help="simulation folder (default: build/sim/huffman-streamer/<model>)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    work = args.work or Path("build/sim/huffman-streamer") / args.model.stem
    rep = run(args.model, args.images, work, args.seed)
    for r in rep["layers"]:
        print(f"huffman_streamer {args.model.name} {r['layer']}: {r['checked']:,} weights checked "
              f"({r['n']:,} x commands), {r['mismatches']} mismatches, {r['n']:,} weights in {r['cycles']:,} cycles "
              f"(N + {r['latency']}), {r['bubbles']} bubbles: {'PASS' if r['passed'] else 'FAIL'}")
    if rep.get("error"):
        print(f"huffman_streamer {args.model.name}: FAIL ({rep['error']})")
    print(f"huffman_streamer {args.model.name}: {rep['weights']:,} weights streamed, {'PASS' if rep['passed'] else 'FAIL'}")
    return 0 if rep["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
