"""Build the plan: lower the graph, cost it with the back end's table, give it lanes with the one allocator.

`plan_hls` and `plan_rtl` are the only places lanes are chosen; the HLS writer
(hw/hls) and the RTL writer (hw/rtl) read the AcceleratorPlan they return.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from pycompress.core.errors import PycompressError
from pycompress.hw import kernel_interface as ki
from pycompress.hw.board import load_board
from . import cost_hls, cost_rtl
from .allocate import Candidate, Design, allocate, lane_choice
from .budget import Budget, Resources
from .cost_hls import HLS, HlsCosts
from .cost_rtl import RTL, RtlCosts
from .banks import assign
from .estimate import KernelPlan, estimate_plan, layer_schedules, objective_cycles
from .kernel_model import KernelModel, bias_kernel, check_kernel, weight_stream
from .lower import hls_layers, rtl_layers
from .memory import Memory
from .model import AcceleratorPlan, Lanes, Layer, LayerPlan, Schedule
from .rtl_chain import ChainTiming, chain_timing, progressive_flags


# ---- HLS -----------------------------------------------------------------------------------------------

def hls_kernel_plan(km: KernelModel, kernel: str = "compressed", dataflow: bool = False) -> KernelPlan:
    """The HLS kernel without its lanes: what the allocator and the estimate see."""
    check_kernel(kernel)
    layers, buffers, _, _ = hls_layers(km.graph, dataflow)
    weights = {l.fn: weight_stream(km, l.weight, kernel, l.outputs, l.reduction) for l in layers if l.mac}
    biases = {l.fn: weight_stream(km, l.bias, bias_kernel(km, l.bias, kernel), l.outputs, 1) for l in layers if l.mac and l.bias}
    top = ki.TOP_FUNCTION if kernel == "compressed" else ki.BASELINE_TOP_FUNCTION
    return KernelPlan(top, tuple(layers), weights, biases, tuple((b.name, b.size) for b in buffers),
                      km.graph.input_size, km.graph.output_size, tuple(km.graph.input_shape), dataflow)


def hls_budget(board: str = "zedboard", c: HlsCosts = HLS) -> Budget:
    return Budget.for_board(load_board(board), c.shares)


def _hls_fixed(kplan: KernelPlan, fixed: Mapping, c: HlsCosts) -> dict[str, Lanes]:
    """Model layer names -> layer functions, each lane choice checked against the layer."""
    by_name = {l.name: l for l in kplan.mac_layers()}
    out = {}
    for name, lanes in fixed.items():
        if name not in by_name:
            raise PycompressError(f"--parallel names {name!r}, which is not a conv2d/linear layer of the model "
                                  f"(layers: {', '.join(by_name) or 'none'})")
        layer = by_name[name]
        v = lanes if isinstance(lanes, Lanes) else lane_choice(lanes)
        if v is None:
            raise PycompressError(f"--parallel {name}: lanes must be a count or channel x pixel lanes (e.g. 6x2)")
        choice = v if isinstance(v, Lanes) else Lanes(*v) if isinstance(v, tuple) else Lanes(v)
        if choice.channels not in layer.lane_divisors():
            raise PycompressError(f"--parallel {name}={choice.channels}: lanes must divide the layer's {layer.outputs} "
                                  "outputs")
        if choice not in cost_hls.lane_options(layer, c):
            raise PycompressError(f"--parallel {name}={choice}: pixel lanes are 1 or 2 (2 on a conv whose output rows "
                                  "they divide)")
        out[layer.fn] = choice
    return out


def allocate_hls(kplan: KernelPlan, budget: Budget, fixed: Mapping | None = None, c: HlsCosts = HLS) -> dict[str, Lanes]:
    """Layer fn -> lanes of the kernel: user-fixed layers (by model name) keep theirs, the rest are allocated to
    maximise throughput within the budget: under DATAFLOW the interval between images first (the slowest
    process), then, from there and without lengthening the interval, the latency; sequential, the latency."""
    def design(e, cycles: int) -> Design:
        return Design(cycles, {l.fn: le.cycles for l, le in zip(kplan.layers, e.layers)}, e.lut, e.ff, e.dsp,
                      e.bram18k + (e.buffer_bram18k if kplan.dataflow and e.chain else 0))

    def first(lanes: Mapping) -> Design:
        e = estimate_plan(kplan, lanes, c)
        return design(e, objective_cycles(kplan, e)[0])

    candidates = [Candidate(l.fn, l.name, tuple(cost_hls.lane_options(l, c))) for l in kplan.mac_layers()]
    fixed = _hls_fixed(kplan, fixed or {}, c)
    lanes = allocate(candidates, first, budget, c.objective, fixed).lanes
    if not kplan.dataflow:
        return lanes
    interval = objective_cycles(kplan, estimate_plan(kplan, lanes, c))[0]

    def then(trial: Mapping) -> Design:
        e = estimate_plan(kplan, trial, c)
        i, lat = objective_cycles(kplan, e)
        return design(e, lat if i <= interval else 10 * lat)  # a longer interval is never a step

    return allocate(candidates, then, budget, c.objective, fixed, start=lanes).lanes


def hls_lanes(km: KernelModel, board: str = "zedboard", parallel: Mapping | None = None, c: HlsCosts = HLS,
              dataflow: bool = False) -> dict[str, Lanes]:
    """Layer fn -> lanes, allocated on the compressed kernel: the baselines reuse them, so comparisons are like for like."""
    return allocate_hls(hls_kernel_plan(km, "compressed", dataflow), hls_budget(board, c), parallel, c)


def plan_hls(km: KernelModel, kernel: str = "compressed", board: str = "zedboard", parallel: Mapping | None = None,
             dataflow: bool = False, c: HlsCosts = HLS, lanes: Mapping | None = None,
             ddr: bool = False) -> AcceleratorPlan:
    """The HLS kernel (`kernel`: compressed, raw, offset or float) with the lanes allocated on the compressed kernel
    (or `lanes`, layer fn -> Lanes, when the caller has them); `dataflow`: the layers' buffers wired for DATAFLOW;
    `ddr`: the weights read from DDR (a MAC loop takes its weights from a FIFO)."""
    kplan = hls_kernel_plan(km, kernel, dataflow)
    lanes = dict(lanes) if lanes is not None else hls_lanes(km, board, parallel, c, dataflow)
    est = estimate_plan(kplan, lanes, c)
    scheds = layer_schedules(kplan, lanes, ddr, c)
    plans = []
    for l, le in zip(kplan.layers, est.layers):
        res = Resources(le.lut, le.ff, le.dsp, le.bram18k)
        s = scheds.get(l.fn) or Schedule((), (), 1, 0, 0)
        if not l.mac:
            plans.append(LayerPlan(l, 1, s, res))
            continue
        ln = lanes.get(l.fn, Lanes())
        w, b = kplan.weights[l.fn], kplan.biases.get(l.fn)
        mems = [("weights", w.memory(ln.channels))] + ([("bias", b.memory(ln.channels))] if b is not None else [])
        plans.append(LayerPlan(l, ln.channels, s, res, w, tuple(mems), ln.pixels, ln.fabric, b))
    _, buffers, inbuf, outbuf = hls_layers(km.graph, dataflow)
    where, _ = assign(kplan.layers, kplan.input_shape, lanes)
    buffers = tuple(replace(b, banks=where[b.name]["banks"]) for b in buffers)
    return AcceleratorPlan("hls", load_board(board), tuple(plans), tuple(km.graph.input_shape), km.graph.output_size,
                           buffers, inbuf, outbuf, (), est)


# ---- RTL -----------------------------------------------------------------------------------------------

def check_rtl_layer(l: Layer, km: KernelModel, c: RtlCosts = RTL) -> None:
    """Refuse what the engines cannot compute bit-exactly, in one line."""
    if l.op == "conv2d" and l.stride < 1:
        raise PycompressError(f"RTL engine: {l.name}: stride {l.stride}")
    if l.mac and l.weight not in km.tables:
        raise PycompressError(f"RTL engine: {l.name}: weight {l.weight!r} is not stored encoded (no tables)")


def _rtl_fixed(layers: list[Layer], fixed: Mapping[str, int], c: RtlCosts) -> dict[str, int]:
    names = {l.name for l in layers if l.mac}
    unknown = sorted(set(fixed) - names)
    if unknown:
        raise PycompressError(f"--parallel: no MAC layer {unknown[0]!r} in the engine (layers: {', '.join(sorted(names))})")
    out = {}
    for l in layers:
        if l.mac and l.name in fixed:
            options = cost_rtl.lane_options(l, c)
            if fixed[l.name] not in options:
                shown = ", ".join(map(str, options[:24])) + (", ..." if len(options) > 24 else "")
                raise PycompressError(f"--parallel {l.name}={fixed[l.name]}: lanes are channel lanes (dividing its "
                                      f"{l.outputs} outputs) x pixel lanes (dividing its {l.pixels} pixels): "
                                      f"choose from {shown}")
            out[l.fn] = fixed[l.name]
    return out


@dataclass(frozen=True)
class RtlEngine:
    """The RTL plan's whole-engine estimate: per MAC layer its engine configuration, and the chain's timing."""

    configs: Mapping[str, cost_rtl.EngineConfig]  # layer fn -> configuration
    timing: ChainTiming
    streams: Mapping[str, cost_rtl.LaneStream]  # layer fn -> what its lanes read
    wb: int  # weight significand bits of the multipliers


def _rtl_configs(layers: list[Layer], lanes: Mapping[str, int]) -> list[cost_rtl.EngineConfig | None]:
    flags = progressive_flags(layers)
    return [cost_rtl.config(l, lanes.get(l.fn, 1), f) if l.mac else None for l, f in zip(layers, flags)]


def _rtl_layer(l: Layer, cfg, stream, wb: int, c: RtlCosts) -> LayerPlan:
    sched, res = cost_rtl.schedule(l, cfg, c), cost_rtl.resources(l, cfg, stream, wb, c)
    if not l.mac:
        return LayerPlan(l, 0, sched, res)
    acc, obuf = cost_rtl.lane_memories(cfg)
    words = cost_rtl.stream_words(l, cfg, stream)
    mems = (("weights", Memory(stream.word_bits, words * cfg.pc, cfg.pc) if cost_rtl.packed(l, cfg, stream)
             else Memory(int(stream.bits), l.reduction * cfg.groups * cfg.pc, cfg.pc)),
            ("input", Memory(36, cost_rtl.input_depth(l) * cfg.px, cfg.px)),
            ("accumulators", Memory(32, acc * cfg.lanes, cfg.lanes)), ("outputs", Memory(32, obuf * cfg.lanes, cfg.lanes)))
    return LayerPlan(l, cfg.lanes, sched, res, None, mems)


def _lane_stream(t) -> cost_rtl.LaneStream:
    """Fixed-width codes (exponent sharing, codebook) or entropy-coded records (their mean bits per weight)."""
    if t.element_bits is not None:
        return cost_rtl.LaneStream(False, t.code_bits)
    return cost_rtl.LaneStream(True, t.tensor.code_bits / t.depth + 1 + t.rest_bits)


def plan_rtl(km: KernelModel, parallel: Mapping[str, int] | None = None, *, board: str = "zedboard",
             start: str | None = None, c: RtlCosts = RTL) -> AcceleratorPlan:
    """The whole-network RTL engine of a kernel model: its chain of units, their lanes and estimates. The lanes
    maximise throughput (interval first, then latency) within the budget (c.shares of the board); --parallel wins."""
    b = load_board(board)
    layers = rtl_layers(km.graph, start)
    for l in layers:
        check_rtl_layer(l, km, c)
    macs = [l for l in layers if l.mac]
    streams = {l.fn: _lane_stream(km.tables[l.weight]) for l in macs}
    wb = max(cost_rtl.weight_significand_bits(km.tables[l.weight]) for l in macs)

    def design(lanes: Mapping[str, int]) -> tuple[Design, list, ChainTiming]:
        cfgs = _rtl_configs(layers, lanes)
        plans = [_rtl_layer(l, cfg, streams.get(l.fn), wb, c) for l, cfg in zip(layers, cfgs)]
        r = sum((p.resources for p in plans), Resources())
        t = chain_timing(layers, cfgs, c)
        d = Design(t.interval, {p.ident: p.cycles for p in plans}, r.lut, r.ff, r.dsp, r.bram18k, (t.interval, t.latency))
        return d, cfgs, t

    candidates = [Candidate(l.fn, l.name, tuple(cost_rtl.lane_options(l, c))) for l in macs]
    alloc = allocate(candidates, lambda lanes: design(lanes)[0], Budget.for_board(b, c.shares), c.objective,
                     _rtl_fixed(layers, parallel or {}, c))
    _, cfgs, timing = design(alloc.lanes)
    plans = tuple(_rtl_layer(l, cfg, streams.get(l.fn), wb, c) for l, cfg in zip(layers, cfgs))
    engine = RtlEngine({l.fn: cfg for l, cfg in zip(layers, cfgs) if cfg is not None}, timing, streams, wb)
    return AcceleratorPlan("rtl", b, plans, layers[0].in_shape, layers[-1].n_out, notes=alloc.notes, estimate=engine)


__all__ = ["allocate_hls", "hls_budget", "hls_kernel_plan", "hls_lanes", "plan_hls", "plan_rtl"]
