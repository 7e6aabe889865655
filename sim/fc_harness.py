"""The RTL fc engine (rtl/fc_engine.sv) on a model's Linear layers: Verilator runs, reference, cycle table, Yosys counts.

One cached Verilator build (sim_build/fc_engine/) with P_MAX lanes serves every
layer: the lane tables are `$readmemh` images named by plusargs
(pycompress.hw.rtl.images.fc_lane_images) and the layer shape (inputs, groups,
active lanes, ReLU) is set on ports at run time. Each layer is one simulator
process over all images (sim/engine_harness.py); its RTL outputs feed the next layer.

    python sim/fc_harness.py [--images N]      # LeNet fc1->fc3 on N test digits, cycles beside the HLS model
    python sim/fc_harness.py --synth           # Yosys synth_xilinx (xc7) counts of fc_engine, P=1 and the chosen P
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIM_DIR = Path(__file__).resolve().parent
REPO = SIM_DIR.parent
for _p in (str(SIM_DIR), str(REPO)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from engine_harness import cycles_cell, lane_blocks, run_case, verilator_build, write_files  # noqa: E402

from pycompress.hw.fpref import FpUnits, as_bits  # noqa: E402
from pycompress.core.graph import Linear, ReLU  # noqa: E402
from pycompress.hw.rtl.images import fc_engine_sources, fc_lane_images  # noqa: E402

TOPLEVEL = "fc_engine"
TEST_MODULE = "fc_engine_cocotb"  # not test_*: tests/test_fc_engine.py would shadow it
BUILD_DIR = REPO / "sim_build" / "fc_engine"
# the simulator build: BF16 exponent sharing, up to 12 lanes x 16 outputs, 256 inputs, 4,096 weights a lane
BUILD = {"P": 12, "MAX_IN": 256, "MAX_G": 16, "DEPTH": 4096, "SUBNORMALS": 1, "CLUSTER": 0, "EXP_BITS": 8,
         "MAN_BITS": 7, "STORED_MAN_BITS": 7, "INDEX_BITS": 8, "ROM_DEPTH": 256}
MIN_GROUPS = 4  # fp32_mac_bank: terms of one output >= ADD_LATENCY clocks apart


@dataclass(frozen=True)
class FcLayer:
    name: str
    weight: str
    bias: str | None
    n_in: int
    n_out: int
    lanes: int
    relu: bool

    @property
    def groups(self) -> int:
        return self.n_out // self.lanes


def fc_layers(km, lanes_by_name: dict[str, int]) -> list[FcLayer]:
    """The graph's trailing run of Linear (+ ReLU) layers with the given lanes."""
    layers = km.graph.layers
    first = max(i for i, l in enumerate(layers) if not isinstance(l, (Linear, ReLU))) + 1
    out = []
    for i in range(first, len(layers)):
        l = layers[i]
        if isinstance(l, Linear):
            relu = i + 1 < len(layers) and isinstance(layers[i + 1], ReLU)
            out.append(FcLayer(l.name, l.weight, l.bias, l.in_features, l.out_features, lanes_by_name.get(l.name, 1), relu))
    return out


def fc_inputs(km, x: np.ndarray, first_fc: str) -> np.ndarray:
    """The numpy reference (pycompress.hw.hls.reference) up to the input of layer `first_fc`, flattened, float32."""
    from pycompress.hw.hls.reference import reference_forward

    k = next(i for i, l in enumerate(km.graph.layers) if l.name == first_fc)
    head = dataclasses.replace(km.graph, layers=km.graph.layers[:k])
    return reference_forward(head, km.params, x)


def build():
    """The cached Verilator build (sim/engine_harness.py)."""
    return verilator_build(TOPLEVEL, fc_engine_sources(), BUILD, BUILD_DIR)


def run_layer(runner, km, layer: FcLayer, x_bits: np.ndarray, case_dir: Path, seed: int = 1, **options) -> tuple[np.ndarray, dict]:
    """One layer over all rows of x_bits (N, n_in) uint32 in one simulator process: (outputs uint32, report)."""
    if layer.lanes > BUILD["P"] or layer.groups > BUILD["MAX_G"] or layer.groups < MIN_GROUPS or layer.n_in > BUILD["MAX_IN"] \
            or layer.n_in * layer.groups > BUILD["DEPTH"]:
        raise ValueError(f"{layer.name}: {layer.lanes} lanes x {layer.groups} outputs x {layer.n_in} inputs "
                         f"do not fit the simulator build {BUILD}")
    bias = km.params[layer.bias].view(np.uint32) if layer.bias else None
    case = {"layer": layer.name, "n_in": layer.n_in, "n_groups": layer.groups, "n_lanes": layer.lanes,
            "relu": layer.relu, "seed": seed, **options}
    return run_case(runner, TOPLEVEL, TEST_MODULE, BUILD_DIR, fc_lane_images(km.tables[layer.weight], layer.lanes, bias),
                    x_bits, case_dir, case, layer.n_out)


def reference_layer(km, layer: FcLayer, x_bits: np.ndarray, subnormals: bool = True) -> np.ndarray:
    w = km.params[layer.weight].view(np.uint32)
    b = km.params[layer.bias].view(np.uint32) if layer.bias else None
    return FpUnits(subnormals).linear(x_bits, w, b, relu=layer.relu)


def hls_cycles(km, lanes_by_name: dict[str, int]) -> dict[str, int]:
    """The HLS cycle model (pycompress.hw.plan: cost_hls via estimate_plan) per Linear layer, for these lanes."""
    from pycompress.hw.plan import hls_kernel_plan
    from pycompress.hw.plan.estimate import estimate_plan

    plan = hls_kernel_plan(km)
    lanes = {l.fn: lanes_by_name.get(l.name, 1) for l in plan.mac_layers()}
    return {l.name: l.cycles for l in estimate_plan(plan, lanes).layers if l.op == "linear"}


def lenet_bf16():
    """The shipped LeNet, BF16 exponent sharing (lossless), and the HLS allocator's lanes by layer name."""
    from pycompress.compress import CompressConfig, compress_state_dict
    from pycompress.hw.plan import hls_kernel_plan, hls_lanes, kernel_model
    from pycompress.frontends.shipped import default_lenet

    cm = compress_state_dict(default_lenet(), CompressConfig(format="bf16"))
    km = kernel_model(cm)
    plan_names = {l.fn: l.name for l in hls_kernel_plan(km).mac_layers()}
    lanes = {plan_names[fn]: p for fn, p in hls_lanes(km).items()}
    return km, lanes


def run_network(km, lanes: dict[str, int], x: np.ndarray, work: Path, **options) -> dict:
    """The model's fc layers in the RTL, chained on the RTL's own outputs; per layer a comparison with the reference."""
    layers = fc_layers(km, lanes)
    runner = build()
    hls = hls_cycles(km, lanes)
    xb = as_bits(np.ascontiguousarray(fc_inputs(km, x, layers[0].name), np.float32))
    rows = []
    for i, layer in enumerate(layers):
        got, rep = run_layer(runner, km, layer, xb, work / layer.name, seed=1 + i, **options)
        want = reference_layer(km, layer, xb)
        rows.append({"layer": layer.name, "lanes": layer.lanes, "n_in": layer.n_in, "n_out": layer.n_out,
                     "relu": layer.relu, "passed": rep.get("passed", False), "errors": rep.get("errors", []),
                     "mismatches": int((got != want).sum()), "compute_cycles": rep.get("compute_cycles", []),
                     "cycles": rep.get("cycles", []), "hls_cycles": hls[layer.name]})
        xb = got
    return {"rows": rows, "logits": xb}


def cycle_table(rows: list[dict]) -> str:
    lines = ["| layer | lanes | inputs x outputs | RTL compute cycles | HLS model | RTL start..done (stalls) |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['layer']} | {r['lanes']} | {r['n_in']} x {r['n_out']} | {cycles_cell(r['compute_cycles'])} | {r['hls_cycles']} | "
                     f"{int(np.mean(r['cycles'])) if r['cycles'] else 0} (mean) |")
    return "\n".join(lines)


def synth_engine(km, layer: FcLayer, work: Path):
    """Yosys synth_xilinx (xc7) of fc_engine sized for one layer, its lane images as the table contents."""
    from pycompress.hw.rtl.images import streamer_params
    from pycompress.hw.rtl.synth_report import synthesise

    t = km.tables[layer.weight]
    p = streamer_params(t)
    prefix = f"{t.ident}_p{layer.lanes}"
    files, _ = fc_lane_images(t, layer.lanes, km.params[layer.bias].view(np.uint32) if layer.bias else None, prefix)
    write_files(files, work)
    depth = layer.n_in * layer.groups
    params = {"P": layer.lanes, "MAX_IN": layer.n_in, "MAX_G": layer.groups, "DEPTH": depth, "SUBNORMALS": 1,
              "EXP_BITS": p.exp_bits, "MAN_BITS": p.man_bits, "STORED_MAN_BITS": p.stored_man_bits,
              "INDEX_BITS": p.index_bits, "ROM_DEPTH": p.rom_depth, **lane_blocks(p, depth), "IMAGES": 1,
              "IMAGE_PREFIX": prefix}
    return synthesise(f"fc_engine {layer.name} P={layer.lanes}", TOPLEVEL, work, fc_engine_sources(), params)


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--synth", action="store_true")
    ap.add_argument("--layer", default="fc1", help="--synth: the layer the engine is sized for")
    ap.add_argument("--out", type=Path, default=REPO / "build" / "fc_engine")
    args = ap.parse_args(argv)
    km, lanes = lenet_bf16()
    if args.synth:
        layer = next(l for l in fc_layers(km, lanes) if l.name == args.layer)
        print("| design | LUT | LUTRAM | FF | RAMB18 | RAMB36 | DSP48E1 |\n|---|---:|---:|---:|---:|---:|---:|")
        for p in sorted({1, layer.lanes}):
            r = synth_engine(km, dataclasses.replace(layer, lanes=p), args.out / f"synth_{layer.name}_p{p}")
            print(f"| {r.design} | {r.lut} | {r.lutram} | {r.ff} | {r.ramb18} | {r.ramb36} | {r.dsp} |", flush=True)
        return 0
    from pycompress.hw.hls.vectors import dataset_inputs

    x, _ = dataset_inputs(km.graph, args.images)
    res = run_network(km, lanes, x, args.out / "sim", ready_prob=0.7, valid_prob=0.7, stall_prob=0.01)
    print(cycle_table(res["rows"]))
    from pycompress.hw.hls.reference import reference_forward

    ref = as_bits(reference_forward(km.graph, km.params, x))
    ok = all(r["passed"] and r["mismatches"] == 0 for r in res["rows"]) and np.array_equal(res["logits"], ref)
    print(f"{args.images} digits: logits {'bit-exact' if ok else 'MISMATCH'} against pycompress.hw.hls.reference")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
