"""The generated whole-network RTL engine (pycompress rtl) under Verilator: images in, outputs bit-exact, cycles.

`pycompress.hw.plan.plan_rtl` plans the engine and `pycompress.hw.rtl.render` writes it into a
folder (top, lane images, copied rtl/*.sv, file list); sim/network_tb.sv drives it
(random valid gaps, backpressure, 1..20-clock stalls on both streams, optionally a
reset in the middle of an image) and writes the outputs and cycle stamps to files.
The Verilator build depends only on the SystemVerilog text (images are read at run
time from the engine folder), cached in sim_build/network_<hash>/.

    python sim/network_harness.py [--model lenet|digits] [--images N] [--start LAYER] [--parallel fc1=4,...]
    python sim/network_harness.py --synth [--model lenet] [--start LAYER]   # Yosys synth_xilinx of the engine
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

SIM_DIR = Path(__file__).resolve().parent
REPO = SIM_DIR.parent
for _p in (str(SIM_DIR), str(REPO)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from harness import setup_tools, waves_on  # noqa: E402

from pycompress.hw.fpref import as_bits  # noqa: E402
from pycompress.hw.plan import AcceleratorPlan, plan_rtl  # noqa: E402
from pycompress.hw.rtl.render import FILE_LIST, render_engine  # noqa: E402

TB = SIM_DIR / "network_tb.sv"
TOPLEVEL = "network_tb"
TEST_MODULE = "network_cocotb"
PAPER_TABLE7_CYCLES = (6_090_756, 5_336_520)  # the paper's LeNet accelerator, baseline -> exponent sharing


def shipped_model(name: str, fmt: str = "bf16", mantissa_bits: int | None = None, scheme: str = "expshare"):
    """The kernel model (graph, float32 params, tables) of a shipped model, exponent sharing (or `scheme`:
    huffman, entropy-coded) in `fmt`; with `mantissa_bits`, the lossy model whose mantissas are rounded to (and
    stored in) that many bits."""
    from pycompress.compress import CompressConfig, compress, compress_state_dict
    from pycompress.hw.plan import kernel_model
    from pycompress.hw.rtl.synth_report import lossy_model

    if name == "lenet":
        from pycompress.frontends.shipped import default_lenet

        cm = compress_state_dict(default_lenet(), CompressConfig(format=fmt, scheme=scheme))
    else:
        from pycompress.frontends.digits_cnn import DigitsCNN
        from pycompress.frontends.shipped import default_digits_cnn

        m = DigitsCNN()
        m.load_state_dict(default_digits_cnn())
        cm = compress(m.eval(), CompressConfig(fmt, scheme=scheme))
    return kernel_model(cm if mantissa_bits is None else lossy_model(cm, mantissa_bits))


def write_engine(km, plan: AcceleratorPlan, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in render_engine(plan, km).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def head_inputs(km, x: np.ndarray, start: str | None) -> np.ndarray:
    """The numpy reference up to the input of layer `start` (the images themselves when None), float32 (N, -1)."""
    import dataclasses

    from pycompress.hw.hls.reference import reference_forward

    x = np.asarray(x, np.float32)
    if start is None:
        return x.reshape(x.shape[0], -1)
    k = next(i for i, l in enumerate(km.graph.layers) if l.name == start)
    return reference_forward(dataclasses.replace(km.graph, layers=km.graph.layers[:k]), km.params, x, canonical_nan=True)


def build(folder: Path, plan: AcceleratorPlan, max_images: int, subnormals: bool = True):
    """The Verilator build of network_tb + the engine in `folder`, keyed by the SystemVerilog text."""
    from buildcache import copied_sources, verilator_runner

    setup_tools()
    names = (folder / FILE_LIST).read_text().split()
    sources = [folder / n for n in names] + [TB]
    params = {"N_IN": plan.layers[0].n_in, "N_OUT": plan.layers[-1].n_out, "NS": len(plan.layers),
              "SUBNORMALS": int(subnormals),
              "MAX_IMAGES": max_images}
    key = hashlib.sha256(json.dumps(params).encode() + b"".join(p.read_bytes() for p in sources)).hexdigest()[:12]
    build_dir = REPO / "sim_build" / f"network_{key}"
    if not (build_dir / TOPLEVEL).exists():
        print(f"verilator: building the engine ({len(plan.layers)} stages; once, cached in {build_dir})",
              file=sys.stderr, flush=True)
    copies = copied_sources(sources, build_dir)  # the engine folder is rewritten on every run
    runner = verilator_runner()
    runner.build(sources=[str(s) for s in copies], hdl_toplevel=TOPLEVEL, parameters=params, build_dir=str(build_dir),
                 waves=waves_on(), build_args=["-Wno-fatal", "-O3", "--output-split", "0"], always=False,
                 log_file=str(build_dir / "build.log"))
    return runner, build_dir


def _read_mem(path: Path) -> list[int]:
    """A $writememh file (comments and @addresses skipped) as Python integers (any width)."""
    return [int(w, 16) for line in path.read_text().splitlines() for w in line.split("//")[0].split() if not w.startswith("@")]


def simulate(folder: Path, plan: AcceleratorPlan, x_bits: np.ndarray, run_dir: Path, *, valid: float = 1.0,
             ready: float = 1.0, stall: float = 0.0, reset_at: tuple[int, int] | None = None,
             max_images: int = 128, subnormals: bool = True, progress: Path | None = None) -> dict:
    """Stream x_bits (N, n_in) uint32 through the engine: outputs (N, n_out) uint32, cycle stamps, stage counters."""
    n = x_bits.shape[0]
    if n > max_images:
        raise ValueError(f"{n} images > MAX_IMAGES {max_images}")
    runner, build_dir = build(folder, plan, max_images, subnormals)
    run_dir.mkdir(parents=True, exist_ok=True)
    img = run_dir / "images.mem"
    img.write_text("\n".join(np.char.mod("%08x", np.asarray(x_bits, np.uint32).reshape(-1)).tolist()) + "\n")
    files = {k: (run_dir / f"{k.lower()}.mem").resolve() for k in ("OUT", "TIMES", "STAGES")}
    for f in [*files.values(), run_dir / "report.json"]:
        f.unlink(missing_ok=True)
    plus = [f"+IN={img.resolve()}", f"+N={n}", *(f"+{k}={v}" for k, v in files.items()),
            f"+VALID={round(256 * valid)}", f"+READY={round(256 * ready)}", f"+STALL={round(4096 * stall)}"]
    if reset_at:
        plus += [f"+RESET_IMG={reset_at[0]}", f"+RESET_WORD={reset_at[1]}"]
    duty = min(valid, ready) * (1 - 10 * stall) or 0.01
    limit = int((n + 2) * plan.latency() * 3 / duty) + 100_000
    t0 = time.monotonic()
    try:
        runner.test(test_module=TEST_MODULE, hdl_toplevel=TOPLEVEL, test_dir=str(folder.resolve()),
                    build_dir=str(build_dir), plusargs=plus, waves=waves_on(),
                    results_xml=str((run_dir / "results.xml").resolve()),  # not into the engine folder (the cwd)
                    extra_env={"NETWORK_REPORT": str((run_dir / "report.json").resolve()), "NETWORK_LIMIT": str(limit),
                               **({"NETWORK_PROGRESS": str(Path(progress).resolve())} if progress else {})},
                    log_file=str(run_dir / "sim.log"))
    except SystemExit:  # cocotb's runner exits under pytest when the test fails; the report says why
        pass
    wall = time.monotonic() - t0
    rep_path = run_dir / "report.json"
    rep = json.loads(rep_path.read_text()) if rep_path.exists() else {"done": 0, "error": f"no report; see {run_dir / 'sim.log'}"}
    rep["wall_s"] = round(wall, 1)
    if not rep.get("done") or not files["OUT"].exists():
        rep["outputs"] = np.zeros((n, plan.layers[-1].n_out), np.uint32)
        return rep
    rep["outputs"] = np.array(_read_mem(files["OUT"]), np.uint32).reshape(n, -1)
    t = np.array(_read_mem(files["TIMES"]), np.uint64)
    rep["first_in"], rep["last_out"] = (t >> np.uint64(32)).astype(np.int64), (t & np.uint64(0xFFFF_FFFF)).astype(np.int64)
    st = _read_mem(files["STAGES"])  # NS x 64 bits a line, stage 0 in the low bits
    ns = len(plan.layers)
    rep["stage_busy"] = np.array([[(v >> (64 * s + 32)) & 0xFFFF_FFFF for s in range(ns)] for v in st])
    rep["stage_compute"] = np.array([[(v >> (64 * s)) & 0xFFFF_FFFF for s in range(ns)] for v in st])
    return rep


INT8_ANCHOR_CYCLES = 17_964  # a hand-written INT8 Verilog LeNet-5 on the same chip, latency at 100 MHz (issue 22)


def cycle_report(km, plan: AcceleratorPlan, rep: dict) -> str:
    """Per-stage measured cycles beside the plan's chain model; image latency and interval, measured and estimated."""
    busy, comp = rep["stage_busy"], rep["stage_compute"]
    est = plan.estimate
    lines = ["| stage | engine | lanes (channel x pixel, bunches) | compute per image, measured (median) | interval, measured "
             "(median) | model: stage interval | model: first image's last word |", "|---|---|---|---:|---:|---:|---:|"]
    steady = busy[1:] if len(busy) > 1 else busy  # the first image's counter runs from reset
    for s, (b, c) in enumerate(zip(steady.T, comp.T)):
        st = plan.layers[s]
        cfg = est.configs.get(st.ident)
        lanes = f"{cfg.lanes} ({cfg.pc} x {cfg.px}, K={cfg.k}{' inner' if cfg.inner else ''})" if cfg else "-"
        lines.append(f"| {st.name} | {st.kind}{' + relu' if st.relu else ''} | {lanes} | {int(np.median(c)):,} | "
                     f"{int(np.median(b)):,} | {est.timing.stage_cycles[s]:,} | {est.timing.stage_done[s]:,} |")
    lat = rep["last_out"] - rep["first_in"]
    ivl = np.diff(rep["last_out"])
    rep["latency"], rep["interval"] = int(lat[0]), int(np.median(ivl)) if ivl.size else int(lat[0])
    lines.append(f"\nmeasured: latency {rep['latency']:,} cycles per image (the first image, empty pipeline: first word in "
                 f".. last output out), interval {rep['interval']:,} cycles between images (median of {ivl.size}, stages "
                 f"overlapping; the reset and the stream stalls included); the plan's chain model (estimate): latency "
                 f"{est.timing.latency:,}, interval {est.timing.interval:,}; INT8 LeNet-5 on the same chip: "
                 f"{INT8_ANCHOR_CYCLES:,}; paper Table 7 (its LeNet, Vivado HLS): {PAPER_TABLE7_CYCLES[0]:,} -> "
                 f"{PAPER_TABLE7_CYCLES[1]:,}")
    return "\n".join(lines)


def compute_off_model(plan: AcceleratorPlan, rep: dict, tolerance: float = 0.01) -> list[tuple[str, int, int]]:
    """MAC stages whose fastest image's compute is off the plan's chain model by more than `tolerance` (+8 cycles):
    one term a clock per lane, so the model is what the allocator optimises. An input-ordered stage computes while
    its input arrives, so its span is the upstream's when that is slower. Returns (stage, measured, model)."""
    from pycompress.hw.plan.cost_rtl import compute_cycles

    est, off = plan.estimate, []
    for s, span, c in zip(plan.layers, est.timing.spans, rep["stage_compute"].min(axis=0)):
        if s.mac:
            model = max(compute_cycles(s.layer, est.configs[s.ident]), span)
            if abs(int(c) - model) > tolerance * model + 8:
                off.append((s.name, int(c), model))
    return off


def entropy_coded_lanes(folder: Path) -> bool:
    """Whether the written engine instantiates lanes that decode their own Huffman record streams."""
    from pycompress.hw.rtl.render import ENGINE_TOP

    return "HUFFMAN(1)" in (folder / f"{ENGINE_TOP}.sv").read_text()


def run_model(name: str, images: int, work: Path, start: str | None = None, parallel: dict | None = None,
              reset: bool = True, mantissa_bits: int | None = None, scheme: str = "expshare", subnormals: bool = True,
              **stream) -> dict:
    """Plan, write and simulate a shipped model's engine on `images` test inputs; compare with the reference."""
    from pycompress.hw.hls.reference import reference_forward
    from pycompress.hw.hls.vectors import dataset_inputs

    km = shipped_model(name, mantissa_bits=mantissa_bits, scheme=scheme)
    plan = plan_rtl(km, parallel, start=start)
    folder = write_engine(km, plan, work / f"{name}-engine")
    x, _ = dataset_inputs(km.graph, images)
    xb = as_bits(np.ascontiguousarray(head_inputs(km, x, start), np.float32))
    want = as_bits(reference_forward(km.graph, km.params, x, subnormals=subnormals, canonical_nan=True))
    reset_at = (min(1, images - 1), plan.layers[0].n_in // 2) if reset else None
    rep = simulate(folder, plan, xb, work / f"{name}-run", reset_at=reset_at, subnormals=subnormals, **stream)
    rep["mismatches"] = int((rep["outputs"] != want).sum())
    rep["images"] = images
    return {"km": km, "plan": plan, "report": rep, "want": want, "folder": folder}


def main(argv=None) -> int:
    import argparse

    from pycompress.hw.plan import parse_parallel

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=("lenet", "digits"), default="lenet")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--start", default=None, help="simulate the engine from this layer on (its input from the reference)")
    ap.add_argument("--parallel", default=None, help="lanes, e.g. fc1=12,fc2=7 (default: the RTL allocator)")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "network_engine")
    ap.add_argument("--mantissa-bits", type=int, default=None, help="the lossy model: mantissas rounded to this many bits")
    ap.add_argument("--scheme", choices=("expshare", "huffman"), default="expshare",
                    help="the weights' scheme: exponent sharing, or entropy-coded (each lane decodes its own stream)")
    ap.add_argument("--ftz", action="store_true", help="the engine's units flush subnormals (SUBNORMALS=0), against "
                    "the reference that does too")
    ap.add_argument("--clean", action="store_true", help="valid and ready held high, no stalls, no reset (the bare cycles)")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    stream = dict(valid=1.0, ready=1.0, stall=0.0) if args.clean else dict(valid=0.8, ready=0.8, stall=0.002)
    res = run_model(args.model, args.images, args.out, args.start, parse_parallel(args.parallel), reset=not args.clean,
                    mantissa_bits=args.mantissa_bits, scheme=args.scheme, subnormals=not args.ftz, **stream)
    rep = res["report"]
    if not rep.get("done"):
        print(f"{args.model}: the simulation did not finish: {rep.get('error', rep)}")
        return 1
    lossy = f" (lossy: mantissas rounded to {args.mantissa_bits} bits)" if args.mantissa_bits is not None else ""
    how = "valid/ready held high" if args.clean else "valid/ready 80% + 1..20-clock stalls"
    units = "float units flush subnormals (SUBNORMALS=0), against the flushing reference" if args.ftz else "gradual underflow"
    print(f"## {args.model}: engine {'from ' + args.start if args.start else 'whole network'}, {args.images} test inputs, "
          f"BF16 {'entropy-coded (huffman)' if args.scheme == 'huffman' else 'exponent sharing'}{lossy}, {units}, {how}, resets mid-image: {rep['resets']}")
    print(cycle_report(res["km"], res["plan"], rep))
    off = compute_off_model(res["plan"], rep)
    if args.scheme == "huffman" and not entropy_coded_lanes(res["folder"]):
        print(f"{args.model}: the engine has no entropy-coded lanes (HUFFMAN(1)) although the scheme is huffman")
        return 1
    for stage, measured, model in off:
        print(f"{stage}: fastest image's compute {measured:,} cycles, the chain model {model:,}: more than 1% apart")
    bad = rep["mismatches"]
    print(f"{args.images} inputs: outputs {'bit-exact (uint32)' if not bad else f'{bad} MISMATCHED words'} "
          f"against pycompress.hw.hls.reference{' (flushing)' if args.ftz else ''}; simulation {rep['wall_s']} s, total {time.monotonic() - t0:.0f} s")
    return 0 if not bad and not off else 1


if __name__ == "__main__":
    sys.exit(main())
