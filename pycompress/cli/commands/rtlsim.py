"""`pycompress rtlsim DIR --data FILE --model MODEL`: a `pycompress rtl` engine under Verilator on your own data.

The engine folder carries its model (model.pcz) and what it was planned with (engine.json), so the plan
and the engine's top are rebuilt and compared with the folder first (a folder edited since is one line).
The Verilator build is cached by the SystemVerilog text (sim/network_harness.py, sim_build/network_<hash>);
the test part of the data streams through (run files in sim_build/rtlsim/, never in the engine folder) (valid and ready held high: the cycles are the engine's own),
the outputs are compared bit for bit (uint32) with the numpy reference and top-1 with your model (its own
program, given the engine's weights), and the measured cycles per image and interval are printed.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

from pycompress.core.errors import PycompressError

DEFAULT_IMAGES = 20
MAX_IMAGES = 1000  # the testbench's output memory (MAX_IMAGES of sim/network_tb.sv), per run


def _engine(folder: Path):
    """(cm, km, plan, label) of an engine folder, checked to be what `pycompress rtl` wrote for its model."""
    from pycompress.core import container
    from pycompress.core.inputs import read_json_object
    from pycompress.hw.plan import kernel_model, plan_rtl
    from pycompress.hw.rtl.render import ENGINE_MANIFEST, ENGINE_TOP, render_engine

    manifest_path = folder / ENGINE_MANIFEST
    if not manifest_path.is_file():
        raise PycompressError(f"{folder}: no {ENGINE_MANIFEST}: not an engine folder written by `pycompress rtl` "
                              "(with the whole-network engine)")
    m = read_json_object(manifest_path, str(manifest_path))
    if not isinstance(m.get("lanes"), dict) or not isinstance(m.get("board"), str) \
            or not isinstance(m.get("model"), str) or "/" in m["model"] or not isinstance(m.get("label"), str):
        raise PycompressError(f"{manifest_path}: not an engine manifest of pycompress rtl (edited?)")
    lanes = m["lanes"]
    if not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in lanes.items()):
        raise PycompressError(f"{manifest_path}: lanes must map layer names to integers")
    cm = container.load(folder / m["model"])
    km = kernel_model(cm)
    plan = plan_rtl(km, lanes, board=m["board"])
    top = folder / f"{ENGINE_TOP}.sv"
    want = render_engine(plan, km, m["label"])[f"{ENGINE_TOP}.sv"]
    if not top.is_file() or top.read_text(encoding="utf-8") != want:
        raise PycompressError(f"{top}: differs from the engine `pycompress rtl` writes for {folder / m['model']}: "
                              "the folder was changed since; run pycompress rtl again")
    return cm, km, plan


class _Progress:
    """A line on stderr every few seconds while the simulation runs (images out, from the testbench's file)."""

    def __init__(self, path: Path, n: int, every: float = 10.0) -> None:
        self.path, self.n, self.every = path, n, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.start = time.monotonic()

    def _run(self) -> None:
        self.path.unlink(missing_ok=True)
        while not self.stop.wait(self.every):
            what = (f"{self.path.read_text().strip()}/{self.n} images out" if self.path.is_file()
                    else "building or starting the simulator")
            print(f"rtlsim: {what}, {time.monotonic() - self.start:.0f} s", file=sys.stderr, flush=True)

    def __enter__(self) -> "_Progress":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def cmd_rtlsim(args: argparse.Namespace) -> int:
    from pycompress.core.paths import REPO_DIR
    from pycompress.frontends.torch_model import torch_forward
    from pycompress.hw.fpref import as_bits
    from pycompress.hw.hls.csim import count_nonfinite, data_inputs, model_forward, nonfinite_note
    from pycompress.hw.hls.reference import reference_forward

    folder = Path(args.folder)
    if not 1 <= args.images <= MAX_IMAGES:
        raise PycompressError(f"--images must be in 1..{MAX_IMAGES}, not {args.images}")
    if args.min_agreement is not None and not 0 <= args.min_agreement <= 100:
        raise PycompressError(f"--min-agreement must be a percentage in [0, 100], got {args.min_agreement}")
    cm, km, plan = _engine(folder)
    x, labels = data_inputs(args.data, tuple(km.graph.input_shape), args.images)
    n = len(x)
    if args.model is not None:  # before the (minutes-long) build: a wrong model fails at once
        theirs, own = model_forward(args.model, cm, km, x)
        who = f"your model {args.model}"
    else:
        theirs, own, who = torch_forward(km.graph, km.params, x), None, "PyTorch (network rebuilt from the layer graph)"
    sim_dir = REPO_DIR / "sim"
    if str(sim_dir) not in sys.path:
        sys.path.insert(0, str(sim_dir))
    import network_harness as nh

    want = as_bits(reference_forward(km.graph, km.params, x, canonical_nan=True))  # the engine's NaNs
    import hashlib

    run_dir = REPO_DIR / "sim_build" / "rtlsim" / hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    print(f"rtlsim: {n} inputs of {args.data} through {len(plan.layers)} stages (estimate {plan.latency():,} cycles "
          f"per image, {plan.interval():,} between images)", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    with _Progress(run_dir / "progress.txt", n):
        rep = nh.simulate(folder, plan, as_bits(x.reshape(n, -1)), run_dir, max_images=MAX_IMAGES,
                          progress=run_dir / "progress.txt")
    if not rep.get("done"):
        raise PycompressError(f"Verilator simulation of {folder} did not finish: {rep.get('error', rep)}")
    out = rep["outputs"]
    exact = bool(np.array_equal(out, want))
    y = out.view(np.float32)
    agree = 100.0 * float(np.mean(y.argmax(1) == theirs.argmax(1)))
    lat = rep["last_out"] - rep["first_in"]
    ivl = np.diff(rep["last_out"])
    result = {"folder": str(folder), "images": n, "inputs": f"{args.data}: test part", "outputs_bit_exact": exact,
              "mismatched_words": int((out != want).sum()), "top1_agreement_pct": agree, "compared_with": who,
              "latency_cycles": int(lat[0]), "interval_cycles": int(np.median(ivl)) if ivl.size else int(lat[0]),
              "estimated_latency": plan.latency(), "estimated_interval": plan.interval(),
              "simulate_s": round(time.monotonic() - t0, 1), "nonfinite_outputs": count_nonfinite(y)}
    if labels is not None:
        result["engine_accuracy_pct"] = 100.0 * float(np.mean(y.argmax(1) == labels))
        if own is not None:
            result["model_accuracy_pct"] = 100.0 * float(np.mean(own.argmax(1) == labels))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        acc = (f"; accuracy engine {result['engine_accuracy_pct']:.2f}%" if "engine_accuracy_pct" in result else "")
        if "model_accuracy_pct" in result:
            acc += f" / your model with its own weights {result['model_accuracy_pct']:.2f}%"
        print(f"{folder}: {n} inputs simulated in {result['simulate_s']} s; outputs bit-exact vs numpy reference: {exact}"
              f"{'' if exact else ' (' + str(result['mismatched_words']) + ' words differ)'}; top-1 agreement with {who} "
              f"{agree:.2f}%{acc}; measured {result['latency_cycles']:,} cycles per image (latency, first image), "
              f"interval {result['interval_cycles']:,} (estimate {plan.latency():,} / {plan.interval():,})"
              f"{nonfinite_note(result['nonfinite_outputs'])}")
    if not exact:
        raise PycompressError(f"RTL simulation of {folder} is not bit-exact: {result['mismatched_words']} of "
                              f"{out.size} output words differ from the reference")
    if args.min_agreement is not None and agree < args.min_agreement:
        raise PycompressError(f"RTL simulation of {folder}: top-1 agreement {agree:.2f}% with {who} is below "
                              f"--min-agreement {args.min_agreement:g}%")
    return 0


def register(sub) -> None:
    p = sub.add_parser("rtlsim", help="simulate a `pycompress rtl` engine under Verilator on your data: bit-exact check, "
                                      "top-1 agreement with your model, cycles per image")
    p.add_argument("folder", help="folder written by `pycompress rtl` (with the whole-network engine)")
    p.add_argument("--data", required=True, metavar="FILE.npz|NAME",
                   help="inputs: the test part of an .npz (x_test/y_test, else carved from x/y) or of mnist5k/digits")
    p.add_argument("--model", metavar="MODEL.pt2|MODEL.onnx",
                   help="compare top-1 with this model (your own .pt2 program or .onnx model, given the engine's "
                        "weights) instead of the network rebuilt from the layer graph")
    p.add_argument("--images", type=int, default=DEFAULT_IMAGES,
                   help=f"test inputs to simulate (default {DEFAULT_IMAGES}; an image takes the engine's interval in "
                        "clocks, Verilator runs some 10^4-10^5 clocks a second)")
    p.add_argument("--min-agreement", type=float, metavar="PCT", help="fail when the top-1 agreement is below PCT percent")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_rtlsim)
