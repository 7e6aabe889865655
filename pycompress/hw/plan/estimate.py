"""The HLS cost model of a whole kernel (v3): per-layer estimates and totals for a choice of lanes per layer.

A `KernelPlan` is the kernel without its lanes (layers, weight and bias tables, buffers); `layer_schedules`
gives each layer's loop schedule (the II and depth the templates write in their pragmas, cost_hls rules
over the buffers' banking, banks.py) and `estimate_plan` the cycles and resources, for any lanes: the
allocator tries lanes on it; `pycompress estimate` then replaces every loop's II and depth by what the
rule checker finds in the generated C++.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping

from .banks import assign, buffer_bram18k, buffer_luts, chw
from .cost_hls import (HLS, HlsCosts, add_schedule, ddr_layer_cycles, elementwise_costs, gap_schedule, io_schedule,
    load_latency, mac_dsp, mac_lut_ff, mac_schedule, pool_dsp, pool_lut_ff, pool_schedule, relu_schedule)
from .ddr import DDR_FIFO_DEPTH, DDR_GROUP_FIFO_DEPTH, DDR_WORD_BITS, ddr_shifts, ddr_words
from .memory import Memory, WeightStream
from .model import Lanes, Layer, POOL_OPS, Schedule


@dataclass(frozen=True)
class KernelPlan:
    """Everything the estimate needs, independent of the lane counts."""

    top: str
    layers: tuple[Layer, ...]
    weights: Mapping[str, WeightStream]  # layer fn -> its weight table (MAC layers)
    biases: Mapping[str, WeightStream]  # layer fn -> its bias table (MAC layers with a bias)
    buffers: tuple[tuple[str, int], ...]  # activation buffers (name, floats)
    input_size: int
    output_size: int
    input_shape: tuple = ()
    dataflow: bool = False

    def mac_layers(self) -> list[Layer]:
        return [l for l in self.layers if l.mac]

    @property
    def chain(self) -> bool:
        return "add" not in [l.op for l in self.layers]


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    op: str
    trip_counts: tuple[int, ...]  # the pipeline's trips, outermost first
    lanes: int  # channel lanes
    ii: int
    pipeline_depth: int
    cycles: int
    weight_bits: int  # payload bits of the weight table
    bram18k: int  # weight + bias tables
    dsp: int
    lut: int
    ff: int
    pixel_lanes: int = 1
    # --weights ddr: the weight table leaves the chip and is read as 64-bit beats through FIFOs
    stream_bram18k: int = 0
    stream_lut: int = 0
    ddr_words: int = 0  # 64-bit beats read per image
    ddr_cycles: int = 0
    fused: bool = False  # a ReLU fused into the layer before it (no loop of its own)
    memory_lut: int = 0  # LUTRAM tables, decoder ROMs and decoders (the rest of `lut` is operators)
    fabric_adders: bool = False


@dataclass(frozen=True)
class KernelEstimate:
    top: str
    layers: tuple[LayerEstimate, ...]
    io: tuple[int, int]  # cycles of the input read and the output write
    buffer_bram18k: int
    buffer_lut: int
    lanes: Mapping[str, int] = field(default_factory=dict)  # layer name -> channel lanes
    pixel_lanes: Mapping[str, int] = field(default_factory=dict)
    chain: bool = True  # every activation has one reader, so DATAFLOW applies

    @property
    def io_cycles(self) -> int:
        return sum(self.io)

    @property
    def cycles(self) -> int:
        return self.io_cycles + sum(l.cycles for l in self.layers if not l.fused)

    @property
    def weight_bram18k(self) -> int:
        return sum(l.bram18k for l in self.layers)

    @property
    def bram18k(self) -> int:
        return self.buffer_bram18k + self.weight_bram18k

    @property
    def dsp(self) -> int:
        return sum(l.dsp for l in self.layers)

    @property
    def lut(self) -> int:
        return self.buffer_lut + sum(l.lut for l in self.layers)

    @property
    def ff(self) -> int:
        return sum(l.ff for l in self.layers)

    @property
    def weight_bits(self) -> int:
        return sum(l.weight_bits for l in self.layers)

    @property
    def ddr_bytes(self) -> int:
        """With --weights ddr: bytes read from DDR per image (every weight once)."""
        return sum(l.ddr_words for l in self.layers) * DDR_WORD_BITS // 8

    def dataflow_summary(self) -> dict | None:
        """Under DATAFLOW: every layer (fused ReLUs excepted) and the stream read/write are concurrent processes
        joined by ping-pong buffers: a new image every `interval` cycles (the slowest process), one image in
        `latency` cycles (their sum); the same with --weights ddr beside it."""
        if not self.chain:
            return None
        own = [l for l in self.layers if not l.fused and l.cycles]
        seq = [l.cycles for l in own] + list(self.io)
        ddr = [l.ddr_cycles or l.cycles for l in own] + list(self.io)
        return {"interval": max(seq), "latency": sum(seq), "ddr_interval": max(ddr), "ddr_latency": sum(ddr),
                "slowest": max(own, key=lambda l: l.cycles).name if own else "io",
                "bram18k": 2 * self.buffer_bram18k + self.weight_bram18k,
                "activation_bram18k": 2 * self.buffer_bram18k}  # every activation buffer ping-pongs

    def ddr_summary(self, c: HlsCosts = HLS) -> dict:
        """The same kernel with --weights ddr: what stays on chip, the DDR traffic, and the cycles it allows."""
        ports = sum(1 for l in self.layers if l.ddr_words)
        fifo = Memory(DDR_WORD_BITS, DDR_FIFO_DEPTH)
        groups = sum(Memory(l.weight_bits // max(l.trip_counts[0] * l.trip_counts[1], 1), DDR_GROUP_FIFO_DEPTH).luts
                     for l in self.layers if l.ddr_words)
        weight_bram = self.weight_bram18k - sum(l.stream_bram18k for l in self.layers)
        return {"bytes_per_image": self.ddr_bytes, "ports": ports,
                "cycles": self.io_cycles + sum(l.ddr_cycles or l.cycles for l in self.layers if not l.fused),
                "bram18k": self.buffer_bram18k + weight_bram + ports * (c.ddr_adapter["bram18k"] + fifo.bram18k),
                "weight_bram18k": weight_bram,
                "lut": self.lut - sum(l.stream_lut for l in self.layers) + ports * (fifo.luts + c.ddr_adapter["lut"])
                + groups, "ff": self.ff + ports * c.ddr_adapter["ff"], "dsp": self.dsp}

    def to_dict(self) -> dict:
        return {"top": self.top, "cycles": self.cycles, "bram18k": self.bram18k, "weight_bram18k": self.weight_bram18k,
                "buffer_bram18k": self.buffer_bram18k, "activation_bram18k": self.buffer_bram18k, "dsp": self.dsp,
                "lut": self.lut, "ff": self.ff, "weight_bits": self.weight_bits, "io_cycles": self.io_cycles,
                "lanes": dict(self.lanes), "pixel_lanes": dict(self.pixel_lanes),
                "ddr": self.ddr_summary(), "dataflow": self.dataflow_summary(),
                "layers": [{**asdict(l), "trip_counts": list(l.trip_counts)} for l in self.layers]}


def _lanes(lanes: Mapping, fn: str) -> Lanes:
    v = lanes.get(fn, Lanes())
    return v if isinstance(v, Lanes) else Lanes(*v) if isinstance(v, tuple) else Lanes(int(v))


def layer_schedules(plan: KernelPlan, lanes: Mapping, ddr: bool = False, c: HlsCosts = HLS) -> dict[str, Schedule]:
    """Layer fn -> its loop schedule at these lanes (the II and depth the templates write in their pragmas)."""
    lanes = {l.fn: _lanes(lanes, l.fn) for l in plan.mac_layers()}
    _, per = assign(plan.layers, plan.input_shape, lanes)
    out = {}
    for l in plan.layers:
        inl, outl, inl2 = per[l.fn]
        if l.mac:
            w, b, ln = plan.weights[l.fn], plan.biases.get(l.fn), lanes[l.fn]
            loads = w.decode_loads(ln.channels)
            recurrence = load_latency(loads[1], c) if w.huffman is not None else 0  # code length through its table
            out[l.fn] = mac_schedule(l, ln, loads, b.memory(ln.channels).in_bram if b is not None else None,
                                     inl["big"], outl["big"], ddr and w.huffman is None, recurrence, c)
        elif l.op in POOL_OPS:
            out[l.fn] = pool_schedule(l, inl["pq"], inl["big"], c)
        elif l.op == "relu" and not l.fused:
            out[l.fn] = relu_schedule(l, inl["big"], c)
        elif l.op == "add":
            out[l.fn] = add_schedule(l, inl["big"], inl2["big"], c)
        elif l.op == "globalavgpool":
            out[l.fn] = gap_schedule(l, inl["big"], c)
    return out


def layer_estimate(plan: KernelPlan, l: Layer, lanes: Lanes, s: Schedule | None, c: HlsCosts = HLS) -> LayerEstimate:
    if l.mac:
        w, b = plan.weights[l.fn], plan.biases.get(l.fn)
        wmem = w.memory(lanes.channels)
        bmem = b.memory(lanes.channels) if b is not None else None
        brams = wmem.bram18k + (bmem.bram18k if bmem else 0)
        ops, decoders, ff = mac_lut_ff(lanes, w.rom_bits + (b.rom_bits if b is not None else 0), l.relu, c)
        memory = wmem.luts + (bmem.luts if bmem else 0) + decoders
        words = ddr_words(w.payload_bits)
        return LayerEstimate(l.name, l.op, s.trips, lanes.channels, s.ii, s.depth, s.cycles, w.payload_bits, brams,
                             mac_dsp(lanes, c), ops + memory, ff, lanes.pixels, wmem.bram18k, wmem.luts, words,
                             ddr_layer_cycles(s, s.trips[0] * s.trips[1], ddr_shifts(w.code_bits, lanes.channels),
                                              words, c), memory_lut=memory, fabric_adders=lanes.fabric)
    if s is None:
        return LayerEstimate(l.name, l.op, (), 1, 1, 0, 0, 0, 0, 0, 0, 0, fused=l.fused)
    if l.op in POOL_OPS:
        lut, ff = pool_lut_ff(l, c)
        return LayerEstimate(l.name, l.op, s.trips, 1, s.ii, s.depth, s.cycles, 0, 0, pool_dsp(l, c), lut, ff)
    dsp, lut, ff = elementwise_costs(l, c)
    return LayerEstimate(l.name, l.op, s.trips, 1, s.ii, s.depth, s.cycles, 0, 0, dsp, lut, ff)


def estimate_plan(plan: KernelPlan, lanes: Mapping, c: HlsCosts = HLS) -> KernelEstimate:
    """Estimate of the kernel with lanes[fn] (Lanes, or (channels, pixels[, fabric]), or an int) per MAC layer."""
    ln = {l.fn: _lanes(lanes, l.fn) for l in plan.mac_layers()}
    where, _ = assign(plan.layers, plan.input_shape, ln)
    scheds = layer_schedules(plan, ln, c=c)
    est = tuple(layer_estimate(plan, l, ln.get(l.fn, Lanes()), scheds.get(l.fn), c) for l in plan.layers)
    out = where[plan.layers[-1].dst] if plan.layers else where["a0"]
    io = (io_schedule(plan.input_size, None, c).cycles, io_schedule(plan.output_size, out["big"], c).cycles)
    bufs = [where[name] for name, _ in plan.buffers]
    macs = plan.mac_layers()
    return KernelEstimate(plan.top, est, io, sum(buffer_bram18k(w) for w in bufs), sum(buffer_luts(w) for w in bufs),
                          {l.name: ln[l.fn].channels for l in macs}, {l.name: ln[l.fn].pixels for l in macs}, plan.chain)


def objective_cycles(plan: KernelPlan, e: KernelEstimate) -> tuple[int, int]:
    """(what the allocator minimises first, then): the interval and the latency of a DATAFLOW chain, else the
    sequential latency twice."""
    if plan.dataflow and e.chain:
        d = e.dataflow_summary()
        return d["interval"], d["latency"]
    return e.cycles, e.cycles


__all__ = ["KernelEstimate", "KernelPlan", "LayerEstimate", "chw", "estimate_plan", "layer_schedules",
           "objective_cycles"]
