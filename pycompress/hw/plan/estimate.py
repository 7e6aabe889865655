"""The HLS cost model of a whole kernel: per-layer estimates and totals for a choice of lanes per layer.

A `KernelPlan` is the kernel without its lanes (layers, weight streams, bias
widths, buffers); `estimate_plan` gives cycles (cost_hls schedules) and resources
(cost_hls rules, memory mapping) of exactly the loops and memories the templates
write, for any lanes: the allocator tries lane counts on it, and the report reads it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping

from .cost_hls import HLS, HlsCosts, ddr_layer_cycles, elementwise_schedule, layer_schedule, mac_dsp, mac_lut_ff, \
    pool_dsp, pool_lut_ff
from .ddr import DDR_FIFO_DEPTH, DDR_GROUP_FIFO_DEPTH, DDR_WORD_BITS, ddr_shifts, ddr_words
from .memory import Memory, WeightStream
from .model import Layer, POOL_OPS


@dataclass(frozen=True)
class KernelPlan:
    """Everything the estimate needs, independent of the lane counts."""

    top: str
    layers: tuple[Layer, ...]
    streams: Mapping[str, WeightStream]  # layer fn -> weight stream (MAC layers)
    bias_bits: Mapping[str, int]  # layer fn -> bits per bias value (MAC layers with a bias)
    buffers: tuple[tuple[str, int], ...]  # activation buffers (name, floats)
    input_size: int
    output_size: int

    def mac_layers(self) -> list[Layer]:
        return [l for l in self.layers if l.mac]


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    op: str
    trip_counts: tuple[int, ...]  # flattened pipeline, outermost first
    lanes: int
    ii: int
    pipeline_depth: int
    cycles: int
    weight_bits: int  # payload bits of the weight stream
    bram18k: int  # weight stream (+ bias) block RAM
    dsp: int
    lut: int
    ff: int
    # --weights ddr: the stream leaves the chip (its BRAM18K/LUTs) and is read as 64-bit beats through a FIFO
    stream_bram18k: int = 0
    stream_lut: int = 0
    ddr_words: int = 0  # 64-bit beats read per image
    ddr_cycles: int = 0  # max(compute, groups x beats per group + read latency): schedule.ddr_layer_cycles


@dataclass(frozen=True)
class KernelEstimate:
    top: str
    layers: tuple[LayerEstimate, ...]
    io_cycles: int
    buffer_bram18k: int
    buffer_lut: int
    lanes: Mapping[str, int] = field(default_factory=dict)  # layer name -> P
    io: tuple[int, int] = (0, 0)  # cycles of the input read and the output write
    fused: tuple[bool, ...] = ()  # per layer: a ReLU that --dataflow fuses into the layer before it
    chain: bool = True  # every activation has one reader, so --dataflow applies

    @property
    def cycles(self) -> int:
        return self.io_cycles + sum(l.cycles for l in self.layers)

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
        """With --weights ddr: bytes read from DDR per image (every layer's stream once)."""
        return sum(l.ddr_words for l in self.layers) * DDR_WORD_BITS // 8

    def dataflow_summary(self) -> dict | None:
        """With --dataflow: every layer (fused ReLUs excepted) and the stream read/write are concurrent
        processes joined by ping-pong buffers, so a new image starts every `interval` cycles (the slowest
        process) and one image takes `latency` cycles (their sum); the same with --weights ddr beside it."""
        if not self.chain:
            return None
        own = [l for l, f in zip(self.layers, self.fused) if not f and l.cycles]
        seq = [l.cycles for l in own] + list(self.io)
        ddr = [l.ddr_cycles or l.cycles for l in own] + list(self.io)
        return {"interval": max(seq), "latency": sum(seq), "ddr_interval": max(ddr), "ddr_latency": sum(ddr),
                "slowest": max(own, key=lambda l: l.cycles).name if own else "io",
                "bram18k": 2 * self.buffer_bram18k + self.weight_bram18k}  # every activation buffer ping-pongs

    def ddr_summary(self) -> dict:
        """The same kernel with --weights ddr: what stays on chip, the DDR traffic, and the cycles it allows."""
        fifos = sum(1 for l in self.layers if l.ddr_words)
        fifo = Memory(DDR_WORD_BITS, DDR_FIFO_DEPTH)  # the beats FIFO; the groups FIFO is as wide as P codes
        groups = sum(Memory(l.weight_bits // max(l.trip_counts[0] * l.trip_counts[1], 1), DDR_GROUP_FIFO_DEPTH).luts
                     for l in self.layers if l.ddr_words)
        bram = self.bram18k - sum(l.stream_bram18k for l in self.layers) + (HLS.ddr_adapter["bram18k"] if fifos else 0)
        return {"bytes_per_image": self.ddr_bytes, "cycles": self.io_cycles + sum(l.ddr_cycles or l.cycles for l in self.layers),
                "bram18k": bram + fifos * fifo.bram18k, "weight_bram18k": self.weight_bram18k - sum(l.stream_bram18k for l in self.layers),
                "lut": self.lut - sum(l.stream_lut for l in self.layers) + fifos * fifo.luts + groups
                + (HLS.ddr_adapter["lut"] if fifos else 0),
                "ff": self.ff + (HLS.ddr_adapter["ff"] if fifos else 0), "dsp": self.dsp}

    def to_dict(self) -> dict:
        return {"top": self.top, "cycles": self.cycles, "bram18k": self.bram18k, "weight_bram18k": self.weight_bram18k,
                "buffer_bram18k": self.buffer_bram18k, "dsp": self.dsp, "lut": self.lut, "ff": self.ff,
                "weight_bits": self.weight_bits, "io_cycles": self.io_cycles, "lanes": dict(self.lanes),
                "ddr": self.ddr_summary(), "dataflow": self.dataflow_summary(),
                "layers": [{**asdict(l), "trip_counts": list(l.trip_counts)} for l in self.layers]}


def buffer_banks(plan: KernelPlan, lanes: Mapping[str, int]) -> dict[str, int]:
    """A MAC layer's output buffer is block-partitioned into one bank per lane."""
    banks = {name: 1 for name, _ in plan.buffers}
    for l in plan.mac_layers():
        banks[l.dst] = lanes.get(l.fn, 1)
    return banks


def layer_estimate(plan: KernelPlan, l: Layer, lanes: int, c: HlsCosts = HLS) -> LayerEstimate:
    if l.mac:
        s = plan.streams[l.fn]
        nest = layer_schedule(l, lanes, s.scheme, s.format, c)
        mem = s.memory(lanes)
        bias = Memory(plan.bias_bits[l.fn], nest.trips[1] * lanes, lanes) if l.fn in plan.bias_bits else None
        brams = mem.bram18k + (bias.bram18k if bias else 0)
        lut, ff = mac_lut_ff(lanes, s, c)
        lut += mem.luts + (bias.luts if bias else 0)
        return LayerEstimate(l.name, l.op, nest.trips, lanes, nest.ii, nest.depth, nest.cycles, s.payload_bits, brams,
                             mac_dsp(lanes, c), lut, ff, mem.bram18k, mem.luts, ddr_words(s.payload_bits),
                             ddr_layer_cycles(nest, nest.trips[0] * nest.trips[1], ddr_shifts(s.code_bits, lanes), c))
    nest = layer_schedule(l, c=c)
    if l.op in POOL_OPS:
        lut, ff = pool_lut_ff(l, c)
        return LayerEstimate(l.name, l.op, nest.trips, 1, nest.ii, nest.depth, nest.cycles, 0, 0, pool_dsp(l, c), lut, ff)
    lut, ff = c.lut_ff["elementwise"] if nest.trips else (0, 0)
    return LayerEstimate(l.name, l.op, nest.trips, 1, nest.ii, nest.depth, nest.cycles, 0, 0, 0, lut, ff)


def estimate_plan(plan: KernelPlan, lanes: Mapping[str, int], c: HlsCosts = HLS) -> KernelEstimate:
    """Estimate of the kernel with `lanes[fn]` outputs per cycle in each MAC layer (default 1)."""
    layers = tuple(layer_estimate(plan, l, lanes.get(l.fn, 1), c) for l in plan.layers)
    io = [elementwise_schedule(plan.input_size, c), elementwise_schedule(plan.output_size, c)]
    ops = [l.op for l in plan.layers]
    fused = tuple(op == "relu" and k > 0 and ops[k - 1] in ("conv2d", "linear") and l.in_place
                  for k, (op, l) in enumerate(zip(ops, plan.layers)))
    banks = buffer_banks(plan, lanes)
    mems = [Memory(32, size, banks[name]) for name, size in plan.buffers]
    names = {l.fn: l.name for l in plan.mac_layers()}
    return KernelEstimate(plan.top, layers, sum(n.cycles for n in io), sum(m.bram18k for m in mems),
                          sum(m.luts for m in mems), {names[k]: v for k, v in lanes.items() if k in names},
                          (io[0].cycles, io[1].cycles), fused, "add" not in ops)
