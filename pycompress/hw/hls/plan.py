"""A kernel plan (layers, buffers, tables) and its estimate for a choice of lanes per layer (kernel v3).

The generator and the allocator share this: context.py describes the kernel as a KernelPlan, the
allocator tries lanes on it, and `estimate_plan` gives cycles (schedule.py) and resources
(resources.py, lanewords.py) of the loops and memories the templates write. `pycompress estimate`
then replaces each loop's II and depth by what the rule checker finds in the generated C++.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Mapping

from .buffers import MAC_OPS, assign_layouts, buffer_bram18k, buffer_luts, chw
from .ddr import DDR_FIFO_DEPTH, DDR_GROUP_FIFO_DEPTH, DDR_WORD_BITS, ddr_shifts, ddr_words
from .resources import DDR_ADAPTER, LUT_FF, OP_DSP, Memory, mac_dsp, mac_lut_ff, pool_dsp, pool_lut_ff
from .schedule import (LoopNest, add_nest, ddr_layer_cycles, gap_nest, io_nest, load_latency, mac_nest, pool_nest,
    relu_nest)


@dataclass(frozen=True)
class KernelPlan:
    """Everything the estimate needs, independent of the lane counts."""

    top: str
    layers: tuple[dict, ...]  # template layer dicts (fn, layer, op, sizes, src, dst)
    weights: Mapping  # layer fn -> TableShape of its weight (MAC layers)
    biases: Mapping  # layer fn -> TableShape of its bias (MAC layers with a bias)
    buffers: tuple[tuple[str, int], ...]  # activation buffers (name, floats)
    input_size: int
    output_size: int
    input_shape: tuple = ()
    dataflow: bool = False

    def mac_layers(self) -> list[dict]:
        return [l for l in self.layers if l["op"] in MAC_OPS]

    @property
    def chain(self) -> bool:
        return "add" not in [l["op"] for l in self.layers]


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    op: str
    trip_counts: tuple[int, ...]  # flattened pipeline, outermost first
    lanes: int
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
    fused: bool = False  # a ReLU fused into the layer before it (no process of its own)
    memory_lut: int = 0  # LUTRAM tables, decoder ROMs and decoders (the rest of `lut` is operators)


@dataclass(frozen=True)
class KernelEstimate:
    top: str
    layers: tuple[LayerEstimate, ...]
    io: tuple[int, int]  # cycles of the input read and the output write
    buffer_bram18k: int
    buffer_lut: int
    lanes: Mapping[str, int] = field(default_factory=dict)  # layer name -> channel lanes
    pixel_lanes: Mapping[str, int] = field(default_factory=dict)
    chain: bool = True  # every activation has one reader, so --dataflow applies

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
        """With --dataflow: every layer (fused ReLUs excepted) and the stream read/write are concurrent processes
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

    def ddr_summary(self) -> dict:
        """The same kernel with --weights ddr: what stays on chip, the DDR traffic, and the cycles it allows."""
        ports = sum(1 for l in self.layers if l.ddr_words)
        fifo = Memory(DDR_WORD_BITS, DDR_FIFO_DEPTH)
        groups = sum(Memory(l.weight_bits // max(l.trip_counts[0] * l.trip_counts[1], 1), DDR_GROUP_FIFO_DEPTH).luts
                     for l in self.layers if l.ddr_words)
        weight_bram = self.weight_bram18k - sum(l.stream_bram18k for l in self.layers)
        return {"bytes_per_image": self.ddr_bytes, "ports": ports,
                "cycles": self.io_cycles + sum(l.ddr_cycles or l.cycles for l in self.layers if not l.fused),
                "bram18k": self.buffer_bram18k + weight_bram + ports * (DDR_ADAPTER["bram18k"] + fifo.bram18k),
                "weight_bram18k": weight_bram,
                "lut": self.lut - sum(l.stream_lut for l in self.layers) + ports * (fifo.luts + DDR_ADAPTER["lut"]) + groups,
                "ff": self.ff + ports * DDR_ADAPTER["ff"], "dsp": self.dsp}

    def to_dict(self) -> dict:
        return {"top": self.top, "cycles": self.cycles, "bram18k": self.bram18k, "weight_bram18k": self.weight_bram18k,
                "buffer_bram18k": self.buffer_bram18k, "activation_bram18k": self.buffer_bram18k, "dsp": self.dsp,
                "lut": self.lut, "ff": self.ff, "weight_bits": self.weight_bits, "io_cycles": self.io_cycles,
                "lanes": dict(self.lanes), "pixel_lanes": dict(self.pixel_lanes),
                "ddr": self.ddr_summary(), "dataflow": self.dataflow_summary(),
                "layers": [{**asdict(l), "trip_counts": list(l.trip_counts)} for l in self.layers]}


def layer_nests(plan: KernelPlan, lanes: Mapping, ddr: bool = False) -> dict[str, LoopNest]:
    """Layer fn -> its loop nest at these lanes (the II and depth the templates write in their pragmas)."""
    layers = [dict(l) for l in plan.layers]
    assign_layouts(layers, plan.input_shape, lanes)
    out = {}
    for l in layers:
        op, fn = l["op"], l["fn"]
        inl = l["inl"]
        if op in MAC_OPS:
            w, b = plan.weights[fn], plan.biases.get(fn)
            pc, pq = l["lanes"], l["pq"]
            loads = w.decode_loads(pc)
            recurrence = load_latency(loads[1]) if w.huffman is not None else 0  # code length through the table
            out[fn] = mac_nest(l, pc, pq, loads, b.memory(pc)[0].in_bram if b is not None else None, inl["big"],
                               l["outl"]["big"], ddr and w.huffman is None, recurrence)
        elif op in ("maxpool2d", "avgpool2d"):
            out[fn] = pool_nest(l, inl["pq"], inl["big"])
        elif op == "relu" and not l["fused"]:
            out[fn] = relu_nest(l["layer"], l["in_size"], inl["big"])
        elif op == "add":
            c, h, w_ = chw(l["out_shape"])
            out[fn] = add_nest(l["layer"], c, h * w_, inl["big"], l["inl2"]["big"])
        elif op == "globalavgpool":
            c, h, w_ = chw(l["in_shape"])
            out[fn] = gap_nest(l["layer"], c, h * w_, inl["big"])
    return out


def _layer(plan: KernelPlan, l: dict, nest: LoopNest | None) -> LayerEstimate:
    if l["op"] in MAC_OPS:
        w, b = plan.weights[l["fn"]], plan.biases.get(l["fn"])
        pc, pq = l["lanes"], l["pq"]
        wmem = w.memory(pc)
        bmem = b.memory(pc) if b is not None else ()
        brams = sum(c.bram18k for c in wmem + bmem)
        lut, ff = mac_lut_ff(pc * pq, pc, w.rom_bits + (b.rom_bits if b is not None else 0), l.get("relu", False))
        memory = sum(c.luts for c in wmem + bmem) + lut - mac_lut_ff(pc * pq, 0, 0, l.get("relu", False))[0]
        lut += sum(c.luts for c in wmem + bmem)
        words = ddr_words(w.payload_bits)
        groups = nest.trips[0] * nest.trips[1]
        return LayerEstimate(l["layer"], l["op"], nest.trips, pc, nest.ii, nest.depth, nest.cycles, w.payload_bits, brams,
                             mac_dsp(pc * pq), lut, ff, pq, sum(c.bram18k for c in wmem), sum(c.luts for c in wmem),
                             words, ddr_layer_cycles(nest, groups, ddr_shifts(w.code_bits, pc), words),
                             memory_lut=memory)
    if nest is None:
        return LayerEstimate(l["layer"], l["op"], (), 1, 1, 0, 0, 0, 0, 0, 0, 0, fused=l.get("fused", False))
    if l["op"] in ("maxpool2d", "avgpool2d"):
        lut, ff = pool_lut_ff(l)
        dsp = pool_dsp(l)
    else:
        lut, ff = LUT_FF["fadd"] if l["op"] in ("add", "globalavgpool") else LUT_FF["fcmp"]
        lut, ff = lut + LUT_FF["loop"][0], ff + LUT_FF["loop"][1]
        dsp = OP_DSP.get(l["op"], 0)
    return LayerEstimate(l["layer"], l["op"], nest.trips, 1, nest.ii, nest.depth, nest.cycles, 0, 0, dsp, lut, ff)


def estimate_plan(plan: KernelPlan, lanes: Mapping) -> KernelEstimate:
    """Estimate of the kernel with lanes[fn] = (channel lanes, pixel lanes) in each MAC layer (default (1, 1))."""
    layers = [dict(l) for l in plan.layers]
    where = assign_layouts(layers, plan.input_shape, lanes)
    nests = layer_nests(plan, lanes)
    est = tuple(_layer(plan, l, nests.get(l["fn"])) for l in layers)
    out = where[layers[-1]["dst"]] if layers else where["a0"]
    io = (io_nest("read_input", plan.input_size, None).cycles, io_nest("write_output", plan.output_size, out["big"]).cycles)
    names = [(name, where[name]) for name, _ in plan.buffers]
    macs = [l for l in layers if l["op"] in MAC_OPS]
    return KernelEstimate(plan.top, est, io, sum(buffer_bram18k(w) for _, w in names), sum(buffer_luts(w) for _, w in names),
                          {l["layer"]: l["lanes"] for l in macs}, {l["layer"]: l["pq"] for l in macs}, plan.chain)


def ceil_div(a: int, b: int) -> int:
    return math.ceil(a / b)
