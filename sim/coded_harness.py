"""Launch the cocotb testbench sim/test_coded_decoder.py on Verilator for the lanes of entropy-coded codebook tensors.

One `coded_decoder` build per format, wide enough for any tensor (K = 256 entries, 512 symbols, a 12-bit
window; `pycompress.hw.rtl.coded.widest_shape`), cached under sim_build/coded_<format>/. A lane is chosen at
run time: plusargs name its decode-table and codebook images (relabelled for the build), and the testbench
feeds the lane's code words from the same packer (`pycompress.hw.coded_layout`) into the decoder.

    .venv/bin/python sim/coded_harness.py MODEL.pcz [--lanes N]   # every lane of every tensor, one report line each
    .venv/bin/python sim/coded_harness.py MODEL.pcz --synth fc1.weight  # Yosys synth_xilinx of one lane's decoder

Without --lanes each layer gets the lanes the HLS allocator gives the model's kernel; the HLS decoder then
runs in C simulation on the same lanes, and the weight memory of the lanes is printed beside the
fixed-width codebook kernel's and the raw BF16 kernel's at the same lanes (pycompress.hw.plan).
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
    from buildcache import verilator_runner

    harness.setup_tools()
    shape = widest_shape(fmt)
    f = get_format(fmt)
    build_dir = harness.BUILD_ROOT / f"coded_{fmt}"
    build_dir.mkdir(parents=True, exist_ok=True)
    runner = verilator_runner()
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


def hls_plans(cm, parallel: dict[str, int] | None = None) -> dict:
    """The HLS kernels of the model (compressed: fixed-width indices; raw: BF16 weights), the same lanes."""
    from pycompress.hw.plan import kernel_model, plan_hls

    km = kernel_model(cm)
    return {k: plan_hls(km, k, parallel=parallel) for k in ("compressed", "raw")}


def memory_table(plans: dict, tables) -> str:
    """Weight memory per layer: entropy-coded lanes vs fixed-width indices vs raw weights, the same lanes."""
    from pycompress.hw.hls.coded import coded_memory

    plans = {k: {l.layer.weight: dict(l.memories)["weights"] for l in p.layers if l.mac} for k, p in plans.items()}
    rows = ["| layer | lanes | entropy-coded lanes: BRAM18K / LUTs | fixed-width indices | raw BF16 |", "|---|---:|---|---|---|"]
    tot = [0] * 6
    for t in tables:
        m, f, r = coded_memory(t), plans["compressed"][t.name], plans["raw"][t.name]
        vals = (m.bram18k, m.luts, f.bram18k, f.luts, r.bram18k, r.luts)
        tot = [a + b for a, b in zip(tot, vals)]
        rows.append(f"| {t.name} | {len(t.lanes)} | {vals[0]} / {vals[1]:,} | {vals[2]} / {vals[3]:,} | {vals[4]} / {vals[5]:,} |")
    rows.append(f"| total | | {tot[0]} / {tot[1]:,} | {tot[2]} / {tot[3]:,} | {tot[4]} / {tot[5]:,} |")
    return "\n".join(rows)


def synth_lane(cm, name: str, work: Path, lanes: int | None) -> int:
    """Yosys synth_xilinx of lane 0's decoder of one tensor, its exact shape and images (table in LUTs)."""
    from pycompress.hw.coded_layout import model_coded_tables
    from pycompress.hw.rtl.coded import exact_shape
    from pycompress.hw.rtl.synth_report import synthesise

    plans = hls_plans(cm)
    lane_map = {l.layer.weight: lanes or l.lanes for l in plans["compressed"].layers if l.mac}
    t = next(x for x in model_coded_tables(cm, lane_map) if x.name == name)
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    shape = exact_shape(t)
    for fname, text in lane_images(t, shape).items():
        (work / fname).write_text(text)
    f = t.format
    params = {**shape.parameters(f.exponent_bits, f.mantissa_bits), "LUT_FILE": f"{t.ident}_lut.mem",
              "BOOK_FILE": f"{t.ident}_book.mem", "LUT_BLOCK": 0}
    r = synthesise(f"coded_decoder {name}", "coded_decoder", work, coded_sources(), params)
    print(f"Yosys synth_xilinx, one lane's coded_decoder of {name} ({len(t.lanes)} lanes; K={t.k}, L={t.window}, "
          f"{t.max_run} run symbols): LUT {r.lut}, LUTRAM {r.lutram}, FF {r.ff}, BRAM18K {r.bram18k}, DSP {r.dsp}")
    return 0


def main() -> int:
    from pycompress.core import container
    from pycompress.hw.coded_layout import model_coded_tables

    ap = argparse.ArgumentParser(description="entropy-coded codebook decoders (HLS C simulation, RTL) on every lane of a model")
    ap.add_argument("model")
    ap.add_argument("--lanes", type=int, default=None, help="lanes of every layer (default: the HLS allocator's)")
    ap.add_argument("--out", default="build/coded-rtl")
    ap.add_argument("--synth", metavar="TENSOR", help="only count one lane's decoder of TENSOR (exact shape) with Yosys")
    a = ap.parse_args()
    cm = container.load(a.model)
    if a.synth:
        return synth_lane(cm, a.synth, Path(a.out) / "synth", a.lanes)
    parallel = None
    if a.lanes is not None:
        from pycompress.hw.plan import kernel_model

        parallel = {l.name: a.lanes for l in kernel_model(cm).graph.layers
                    if getattr(l, "weight", None) in cm.tensors and cm.tensors[l.weight].shape[0] % a.lanes == 0}
    plans = hls_plans(cm, parallel)
    lanes = {l.layer.weight: l.lanes for l in plans["compressed"].layers if l.mac}
    tables = model_coded_tables(cm, lanes)
    from pycompress.hw.hls.coded import csim

    got = csim(tables, Path(a.out) / "hls")
    ok = True
    for t in tables:
        same = all(np.array_equal(got[t.name][p], t.expected(p)) for p in range(len(t.lanes)))
        ok &= same
        print(f"HLS C simulation {t.name}: {len(t.lanes)} lanes, {t.decoded.size:,} weights, bit-exact: {same}", flush=True)
    for t in tables:
        for r in run_tensor(Path(a.out) / t.ident, t):
            ok &= bool(r.get("passed"))
            n = r["n"] // 2  # two passes: stalls and backpressure, then always ready (timed)
            print(f"RTL {t.name} lane {r['lane']}: {n:,} weights x 2 passes, bit-exact: {r.get('passed')}; "
                  f"{r.get('cycles', '?')} cycles from start to the last weight with nothing stalled (N + 5 = {n + 5})",
                  flush=True)
    print(memory_table(plans, tables))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
