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
from .allocate import Candidate, Design, allocate
from .budget import Budget, Resources
from .cost_hls import HLS, HlsCosts
from .cost_rtl import RTL, RtlCosts
from .estimate import KernelPlan, estimate_plan
from .kernel_model import KernelModel, check_kernel, element_bits, weight_stream
from .lower import hls_layers, rtl_layers
from .memory import Memory
from .model import AcceleratorPlan, Layer, LayerPlan
from .rtl_chain import ChainTiming, chain_timing, progressive_flags


# ---- HLS -----------------------------------------------------------------------------------------------

def hls_kernel_plan(km: KernelModel, kernel: str = "compressed") -> KernelPlan:
    """The HLS kernel without its lanes: what the allocator and the estimate see."""
    check_kernel(kernel)
    layers, buffers, _, _ = hls_layers(km.graph)
    streams = {l.fn: weight_stream(km, l.weight, kernel) for l in layers if l.mac}
    bias_bits = {l.fn: element_bits(km, l.bias, kernel) for l in layers if l.mac and l.bias}
    top = ki.TOP_FUNCTION if kernel == "compressed" else ki.BASELINE_TOP_FUNCTION
    return KernelPlan(top, tuple(layers), streams, bias_bits, tuple((b.name, b.size) for b in buffers),
                      km.graph.input_size, km.graph.output_size)


def hls_budget(board: str = "zedboard", c: HlsCosts = HLS) -> Budget:
    return Budget.for_board(load_board(board), c.shares)


def _hls_fixed(kplan: KernelPlan, fixed: Mapping[str, int]) -> dict[str, int]:
    """Model layer names -> layer functions, each lane count checked against the layer."""
    by_name = {l.name: l for l in kplan.mac_layers()}
    out = {}
    for name, lanes in fixed.items():
        if name not in by_name:
            raise PycompressError(f"--parallel names {name!r}, which is not a conv2d/linear layer of the model "
                                  f"(layers: {', '.join(by_name) or 'none'})")
        layer = by_name[name]
        if lanes not in cost_hls.lane_options(layer):
            raise PycompressError(f"--parallel {name}={lanes}: lanes must divide the layer's {layer.outputs} outputs")
        out[layer.fn] = lanes
    return out


def allocate_hls(kplan: KernelPlan, budget: Budget, fixed: Mapping[str, int] | None = None,
                 c: HlsCosts = HLS) -> dict[str, int]:
    """Layer fn -> lanes of the kernel: user-fixed layers (by model name) keep theirs, the rest are allocated."""
    def cost(lanes: Mapping[str, int]) -> Design:
        e = estimate_plan(kplan, lanes, c)
        return Design(e.cycles, {l.fn: le.cycles for l, le in zip(kplan.layers, e.layers)}, e.lut, e.ff, e.dsp, e.bram18k)

    candidates = [Candidate(l.fn, l.name, tuple(cost_hls.lane_options(l))) for l in kplan.mac_layers()]
    return allocate(candidates, cost, budget, c.objective, _hls_fixed(kplan, fixed or {})).lanes


def hls_lanes(km: KernelModel, board: str = "zedboard", parallel: Mapping[str, int] | None = None,
              c: HlsCosts = HLS) -> dict[str, int]:
    """Layer fn -> lanes, allocated on the compressed kernel: the baselines reuse them, so comparisons are like for like."""
    return allocate_hls(hls_kernel_plan(km, "compressed"), hls_budget(board, c), parallel, c)


def plan_hls(km: KernelModel, kernel: str = "compressed", board: str = "zedboard",
             parallel: Mapping[str, int] | None = None, dataflow: bool = False, c: HlsCosts = HLS) -> AcceleratorPlan:
    """The HLS kernel (`kernel`: compressed, raw or float) with the lanes allocated on the compressed kernel;
    `dataflow`: the layers' buffers wired for DATAFLOW (ReLU fused into the layer before it)."""
    kplan = hls_kernel_plan(km, kernel)
    lanes = hls_lanes(km, board, parallel, c)
    est = estimate_plan(kplan, lanes, c)
    layers, buffers, inbuf, outbuf = hls_layers(km.graph, dataflow)
    plans = []
    for l, le in zip(layers, est.layers):
        p = lanes.get(l.fn, 1)
        res = Resources(le.lut, le.ff, le.dsp, le.bram18k)
        if not l.mac:
            plans.append(LayerPlan(l, 1, cost_hls.layer_schedule(l, c=c), res))
            continue
        s = kplan.streams[l.fn]
        mems = [("weights", s.memory(p))]
        if l.fn in kplan.bias_bits:
            mems.append(("bias", Memory(kplan.bias_bits[l.fn], l.outputs, p)))
        plans.append(LayerPlan(l, p, cost_hls.layer_schedule(l, p, s.scheme, s.format, c), res, s, tuple(mems)))
    banks = {l.layer.dst: l.lanes for l in plans if l.mac}
    buffers = tuple(replace(b, banks=banks.get(b.name, 1)) for b in buffers)
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
