"""The RTL conv engine (rtl/conv_engine.sv) on a model's Conv2d layers: Verilator runs, reference, cycles, Yosys counts.

The layer geometry is a module parameter, so each (layer, lanes, decoder,
SUBNORMALS) has its own cached Verilator build (sim_build/conv_engine/<key>/);
the lane tables are `$readmemh` images named by plusargs
(pycompress.hw.rtl.images.conv_lane_images). Each layer is one simulator process
over all images, its inputs from the numpy reference (pycompress.hw.hls.reference)
of the layers before it. Shares the model loading and the reference prefix with
sim/fc_harness.py, the build and layer run with it (sim/engine_harness.py).

    python sim/conv_harness.py [--model lenet|digits] [--images N]   # conv layers bit-exact, cycles beside the HLS model
    python sim/conv_harness.py --synth [--lanes 1,6]                 # Yosys synth_xilinx (xc7) counts of conv1/conv2 engines
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIM_DIR = Path(__file__).resolve().parent
REPO = SIM_DIR.parent
for _p in (str(SIM_DIR), str(REPO)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from fc_harness import fc_inputs, lenet_bf16  # noqa: E402
from engine_harness import cycles_cell, lane_blocks, run_case, verilator_build, write_files  # noqa: E402

from pycompress.hw.fpref import ADD_LATENCY, MUL_LATENCY, FpUnits, as_bits  # noqa: E402
from pycompress.core.graph import Conv2d, ReLU  # noqa: E402
from pycompress.hw.rtl.images import conv_engine_sources, conv_lane_images, streamer_params  # noqa: E402

TOPLEVEL = "conv_engine"
TEST_MODULE = "conv_engine_cocotb"  # not test_*: tests/test_conv_engine.py would shadow it
BUILD_ROOT = REPO / "sim_build" / "conv_engine"
# g++ -O0 on the one generated C++ file (verilated.mk uses -Os): with a build per layer geometry the compile
# is the cost that matters, and the simulations of a few images each are short either way
CXX_OPT = "-O0"
CYCLE_TOLERANCE = 0.05  # measured compute cycles vs the HLS cycle model at the same lanes
MIN_DISTANCE = 6  # fp32_mac_bram: terms of one accumulator >= 6 clocks apart (groups x pixels)


@dataclass(frozen=True)
class ConvLayer:
    name: str
    weight: str
    bias: str | None
    ic: int
    ih: int
    iw: int
    oc: int
    kh: int
    kw: int
    stride: int
    ph: int
    pw: int
    lanes: int
    relu: bool

    @property
    def oh(self) -> int:
        return (self.ih + 2 * self.ph - self.kh) // self.stride + 1

    @property
    def ow(self) -> int:
        return (self.iw + 2 * self.pw - self.kw) // self.stride + 1

    @property
    def groups(self) -> int:
        return self.oc // self.lanes

    @property
    def n_in(self) -> int:
        return self.ic * self.ih * self.iw

    @property
    def n_out(self) -> int:
        return self.oc * self.oh * self.ow

    @property
    def terms(self) -> int:
        """Clocks of terms per lane: reduction x groups x pixels (the HLS loop nest's iterations)."""
        return self.ic * self.kh * self.kw * self.groups * self.oh * self.ow

    def geometry(self) -> dict[str, int]:
        """The conv_engine geometry parameters."""
        return {"P": self.lanes, "IC": self.ic, "IH": self.ih, "IW": self.iw, "OC": self.oc, "KH": self.kh,
                "KW": self.kw, "STRIDE": self.stride, "PH": self.ph, "PW": self.pw, "RELU": int(self.relu)}

    def check(self) -> None:
        if self.oc % self.lanes or self.groups * self.oh * self.ow < MIN_DISTANCE:
            raise ValueError(f"{self.name}: {self.lanes} lanes for {self.oc} channels of {self.oh}x{self.ow} pixels: "
                             f"lanes must divide the channels and groups x pixels be >= {MIN_DISTANCE}")


def conv_layers(km, lanes_by_name: dict[str, int]) -> list[ConvLayer]:
    """The graph's Conv2d layers (a following ReLU fused) with the given lanes."""
    layers, shapes = km.graph.layers, km.graph.shapes()
    out = []
    for i, l in enumerate(layers):
        if isinstance(l, Conv2d):
            ic, ih, iw = shapes[i]
            relu = i + 1 < len(layers) and isinstance(layers[i + 1], ReLU)
            out.append(ConvLayer(l.name, l.weight, l.bias, ic, ih, iw, l.out_channels, *l.kernel, l.stride, *l.padding,
                                 lanes_by_name.get(l.name, 1), relu))
    return out


def digits_bf16():
    """The shipped DigitsCNN (3x3, padding 1, stride 2 in conv2), BF16 exponent sharing, and the allocator's lanes."""
    from pycompress.compress import CompressConfig, compress
    from pycompress.frontends.digits_cnn import DigitsCNN
    from pycompress.hw.plan import hls_kernel_plan, hls_lanes, kernel_model
    from pycompress.frontends.shipped import default_digits_cnn

    model = DigitsCNN()
    model.load_state_dict(default_digits_cnn())
    km = kernel_model(compress(model.eval(), CompressConfig(format="bf16")))
    plan_names = {l.fn: l.name for l in hls_kernel_plan(km).mac_layers()}
    return km, {plan_names[fn]: p for fn, p in hls_lanes(km).items()}


MODELS = {"lenet": lenet_bf16, "digits": digits_bf16}


def decoder_parameters(km, layer: ConvLayer) -> dict[str, int]:
    p = streamer_params(km.tables[layer.weight])
    return {"CLUSTER": p.cluster, "EXP_BITS": p.exp_bits, "MAN_BITS": p.man_bits, "STORED_MAN_BITS": p.stored_man_bits,
            "INDEX_BITS": p.index_bits, "ROM_DEPTH": p.rom_depth}


def build(params: dict[str, int]):
    """The cached Verilator build of one parameter set (sim/engine_harness.py): (runner, build folder)."""
    build_dir = BUILD_ROOT / hashlib.sha256(json.dumps([params, CXX_OPT], sort_keys=True).encode()).hexdigest()[:12]
    return verilator_build(TOPLEVEL, conv_engine_sources(), params, build_dir, CXX_OPT), build_dir


def run_layer(km, layer: ConvLayer, x_bits: np.ndarray, case_dir: Path, seed: int = 1, subnormals: bool = True,
              **options) -> tuple[np.ndarray, dict]:
    """One layer over all rows of x_bits (N, IC*IH*IW) uint32 in one simulator process: (outputs uint32, report)."""
    layer.check()
    runner, build_dir = build({**layer.geometry(), **decoder_parameters(km, layer), "SUBNORMALS": int(subnormals)})
    bias = km.params[layer.bias].view(np.uint32) if layer.bias else None
    case = {"layer": layer.name, "n_in": layer.n_in, "n_out": layer.n_out, "terms": layer.terms, "seed": seed, **options}
    return run_case(runner, TOPLEVEL, TEST_MODULE, build_dir, conv_lane_images(km.tables[layer.weight], layer.lanes, bias),
                    x_bits, case_dir, case, layer.n_out)


def reference_layer(km, layer: ConvLayer, x_bits: np.ndarray, subnormals: bool = True) -> np.ndarray:
    """fpref's model of the engine: (N, OC*OH*OW) uint32 in C,H,W order."""
    w = km.params[layer.weight].view(np.uint32)
    b = km.params[layer.bias].view(np.uint32) if layer.bias else None
    x = x_bits.reshape(-1, layer.ic, layer.ih, layer.iw)
    y = FpUnits(subnormals).conv2d(x, w, b, layer.stride, (layer.ph, layer.pw), relu=layer.relu)
    return y.reshape(x.shape[0], -1)


def hls_cycles(km, layer: ConvLayer) -> int:
    """The HLS cycle model of this layer at the same lanes: cost_hls.layer_schedule(...).cycles."""
    from pycompress.hw.plan import hls_kernel_plan
    from pycompress.hw.plan.cost_hls import layer_schedule

    plan = hls_kernel_plan(km)
    d = next(l for l in plan.mac_layers() if l.name == layer.name)
    scheme = streamer_params(km.tables[layer.weight]).scheme
    return layer_schedule(d, layer.lanes, scheme, km.format).cycles


def run_model(km, lanes: dict[str, int], x: np.ndarray, work: Path, names: list[str] | None = None,
              subnormals: bool = True, **options) -> list[dict]:
    """Each conv layer (or those named) on inputs from the numpy reference of the layers before it."""
    rows = []
    for i, layer in enumerate(conv_layers(km, lanes)):
        if names and layer.name not in names:
            continue
        xb = as_bits(np.ascontiguousarray(fc_inputs(km, x, layer.name), np.float32)).reshape(x.shape[0], -1)
        t = time.monotonic()
        got, rep = run_layer(km, layer, xb, work / layer.name, seed=1 + i, subnormals=subnormals, **options)
        want = reference_layer(km, layer, xb, subnormals)
        rows.append({"layer": layer.name, "lanes": layer.lanes, "shape": f"{layer.ic}x{layer.ih}x{layer.iw} -> "
                     f"{layer.oc}x{layer.oh}x{layer.ow}", "terms": layer.terms, "passed": rep.get("passed", False),
                     "errors": rep.get("errors", []), "mismatches": int((got != want).sum()), "outputs": got,
                     "expected": want, "compute_cycles": rep.get("compute_cycles", []), "cycles": rep.get("cycles", []),
                     "hls_cycles": hls_cycles(km, layer), "seconds": round(time.monotonic() - t, 1)})
    return rows


def cycle_table(rows: list[dict]) -> str:
    lines = ["| layer | lanes | shape | terms/lane | RTL compute cycles (measured) | HLS model (estimate) | "
             "RTL start..done (mean, with stalls) |", "|---|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['layer']} | {r['lanes']} | {r['shape']} | {r['terms']} | {cycles_cell(r['compute_cycles'])} | {r['hls_cycles']} | "
                     f"{int(np.mean(r['cycles'])) if r['cycles'] else 0} |")
    return "\n".join(lines)


def synth_engine(km, layer: ConvLayer, work: Path):
    """Yosys synth_xilinx (xc7) of conv_engine for one layer, its lane images as the table contents."""
    from pycompress.hw.rtl.synth_report import synthesise

    t = km.tables[layer.weight]
    p = streamer_params(t)
    prefix = f"{t.ident}_p{layer.lanes}"
    files, _ = conv_lane_images(t, layer.lanes, km.params[layer.bias].view(np.uint32) if layer.bias else None, prefix)
    write_files(files, work)
    params = {**layer.geometry(), **decoder_parameters(km, layer), "SUBNORMALS": 1,
              **lane_blocks(p, layer.ic * layer.kh * layer.kw * layer.groups), "IMAGES": 1, "IMAGE_PREFIX": prefix}
    return synthesise(f"conv_engine {layer.name} P={layer.lanes}", TOPLEVEL, work, conv_engine_sources(), params)


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(MODELS), default="lenet")
    ap.add_argument("--images", type=int, default=5)
    ap.add_argument("--ftz", action="store_true", help="SUBNORMALS=0 builds, against fpref's flush-to-zero model")
    ap.add_argument("--synth", action="store_true")
    ap.add_argument("--lanes", default="", help="--synth: comma-separated lane counts (default: 1 and the allocator's)")
    ap.add_argument("--layer", default="", help="--synth: only this conv layer")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "conv_engine")
    args = ap.parse_args(argv)
    km, lanes = MODELS[args.model]()
    if args.synth:
        print("| design | LUT | LUTRAM | FF | RAMB18 | RAMB36 | DSP48E1 | Yosys s |\n|---|---:|---:|---:|---:|---:|---:|---:|")
        for layer in conv_layers(km, lanes):
            if args.layer and layer.name != args.layer:
                continue
            counts = [int(v) for v in args.lanes.split(",") if v] or [1, layer.lanes]
            for p in sorted({c for c in counts if layer.oc % c == 0}):
                t = time.monotonic()
                r = synth_engine(km, dataclasses.replace(layer, lanes=p), args.out / f"synth_{args.model}_{layer.name}_p{p}")
                print(f"| {r.design} | {r.lut} | {r.lutram} | {r.ff} | {r.ramb18} | {r.ramb36} | {r.dsp} | "
                      f"{time.monotonic() - t:.0f} |", flush=True)
        return 0
    from pycompress.hw.hls.vectors import dataset_inputs

    x, _ = dataset_inputs(km.graph, args.images)
    rows = run_model(km, lanes, x, args.out / f"sim_{args.model}", subnormals=not args.ftz,
                     ready_prob=0.7, valid_prob=0.7, stall_prob=0.01)
    print(cycle_table(rows))
    ok = all(r["passed"] and r["mismatches"] == 0 for r in rows)
    print(f"{args.images} images: conv outputs {'bit-exact' if ok else 'MISMATCH'} against pycompress.hw.fpref "
          f"({'IEEE' if not args.ftz else 'flush to zero'}); pipeline {MUL_LATENCY}+{ADD_LATENCY} clocks")
    off = [r["layer"] for r in rows if not r["compute_cycles"]
           or abs(max(r["compute_cycles"]) - r["hls_cycles"]) > CYCLE_TOLERANCE * r["hls_cycles"]]
    if off:
        print(f"compute cycles more than {CYCLE_TOLERANCE:.0%} from the HLS model: {', '.join(off)}")
    return 0 if ok and not off else 1


if __name__ == "__main__":
    sys.exit(main())
