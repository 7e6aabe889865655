"""The HLS back end's cost table and rules: loop-nest cycles of the generated kernel and its resources.

Every layer of `hls_templates/kernel.cpp.j2` is one perfect loop nest with a
PIPELINE pragma on the innermost loop, which Vitis flattens into a single
pipeline: cycles = (iterations - 1) * II + depth + loop overhead. For the MAC
layers the reduction is outermost and the outputs in flight innermost, so the
float accumulation of one output recurs only every `distance` iterations;
II = ceil(accumulator chain / distance) (1 once distance >= the chain).
Latencies are typical Vitis figures for float cores on a 7-series part at 100 MHz;
DSP48E1: a full-DSP fmul takes 3, an fadd 2 (Vitis defaults); LUT/FF figures are
rough per-operator constants. All of it is an estimate, not synthesis.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from .budget import Objective, Shares
from .memory import WeightStream
from .model import Layer, Schedule


@dataclass(frozen=True)
class HlsCosts:
    """The one place the HLS cost figures live (Xilinx Floating-Point cores through Vitis HLS, 7-series, 100 MHz)."""

    fmul_latency: int = 4
    fadd_latency: int = 5
    fcmp_latency: int = 2
    fdiv_latency: int = 16
    bram_read_latency: int = 2
    decode_latency: Mapping[str, int] = field(default_factory=lambda: MappingProxyType(
        {"expshare": 2, "cluster": 2, "raw": 1, "float": 1}))  # window realign (+ exponent / codebook ROM)
    widen_latency: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({"fp16": 1, "bf16": 0, "fp32": 0}))
    mem_ports: int = 2  # a block RAM serves two reads per cycle
    loop_overhead: int = 2  # entry and exit of one flattened pipeline
    ddr_read_latency: int = 64  # cycles from a burst request on a Zynq-7000 HP port to its first beat (typical)
    dsp_fmul: int = 3
    dsp_fadd: int = 2
    # rough LUT / FF per instance (Vitis float cores with full DSP use)
    lut_ff: Mapping[str, tuple[int, int]] = field(default_factory=lambda: MappingProxyType(
        {"fmul": (100, 150), "fadd": (250, 350), "fcmp": (70, 20), "fdiv": (800, 1400), "lane_decoder": (60, 60),
         "loop": (150, 200), "elementwise": (100, 100)}))
    # --weights ddr: the m_axi read adapter (a 64 x 64-bit burst buffer in one BRAM18K, address and handshake logic)
    ddr_adapter: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({"bram18k": 1, "lut": 1200, "ff": 1500}))
    # the budget: every DSP, half the block RAM (the other half is left to the DMA and the rest of a system),
    # 70% of the LUTs and FFs
    shares: Shares = Shares(dsp=1.0, bram18k=0.5, lut=0.7, ff=0.7)
    # in the spirit of FINN's folding and hls4ml's reuse factor: the step that saves the most cycles per share
    # of the budget, while a step saves at least 0.5% of the cycles
    objective: Objective = Objective("best_ratio", min_gain=0.005)

    @property
    def acc_chain(self) -> int:
        """Read the partial sum, add, write back: the loop-carried dependence of one accumulator."""
        return self.bram_read_latency + self.fadd_latency


HLS = HlsCosts()


# ---- cycles ---------------------------------------------------------------------------------------------

def nest_cycles(trips: tuple[int, ...], ii: int, depth: int, c: HlsCosts = HLS) -> int:
    return 0 if not trips else (math.prod(trips) - 1) * ii + depth + c.loop_overhead


def mac_schedule(layer: Layer, lanes: int, scheme: str, fmt: str, c: HlsCosts = HLS) -> Schedule:
    """Reduction outermost, then output groups, then pixels; `lanes` outputs per iteration."""
    groups = layer.outputs // lanes
    distance = groups * layer.pixels
    ii = max(1, math.ceil(c.acc_chain / distance))
    depth = (c.bram_read_latency + c.decode_latency[scheme] + c.widen_latency[fmt] + c.fmul_latency + c.fadd_latency
             + 1)
    if layer.op == "conv2d":
        loops, trips = ("reduction", "groups", "pixels"), (layer.reduction, groups, layer.pixels)
    else:
        loops, trips = ("reduction", "groups"), (layer.reduction, groups)
    return Schedule(loops, trips, ii, depth, nest_cycles(trips, ii, depth, c), lanes, distance)


def pool_schedule(layer: Layer, c: HlsCosts = HLS) -> Schedule:
    """One output per iteration; the k*k window is unrolled, so II is the reads per port."""
    window = layer.kernel[0] * layer.kernel[1]
    ii = math.ceil(window / c.mem_ports)
    if layer.op == "maxpool2d":
        depth = c.bram_read_latency + ii + (window - 1) * c.fcmp_latency + 1
    else:  # sum, then times 1/(k*k)
        depth = c.bram_read_latency + ii + window * c.fadd_latency + c.fmul_latency + 1
    trips = layer.out_shape
    return Schedule(("channels", "rows", "columns"), trips, ii, depth, nest_cycles(trips, ii, depth, c))


def elementwise_schedule(size: int, c: HlsCosts = HLS) -> Schedule:
    """ReLU in place, an add, the stream copies: one value per cycle."""
    depth = c.bram_read_latency + 2
    return Schedule(("elements",), (size,), 1, depth, nest_cycles((size,), 1, depth, c))


def layer_schedule(layer: Layer, lanes: int = 1, scheme: str = "raw", fmt: str = "fp32", c: HlsCosts = HLS) -> Schedule:
    if layer.mac:
        return mac_schedule(layer, lanes, scheme, fmt, c)
    if layer.op in ("maxpool2d", "avgpool2d"):
        return pool_schedule(layer, c)
    if layer.op in ("relu", "add"):
        return elementwise_schedule(layer.n_out, c)
    if layer.op == "globalavgpool":  # one sequential float sum per channel: the add recurs every iteration
        trips = (layer.in_shape[0], layer.in_shape[1] * layer.in_shape[2])
        depth = c.bram_read_latency + c.fadd_latency + c.fmul_latency + 1
        return Schedule(("channels", "pixels"), trips, c.fadd_latency, depth, nest_cycles(trips, c.fadd_latency, depth, c))
    return Schedule((), (), 1, 0, 0)  # flatten: an alias


def ddr_layer_cycles(s: Schedule, groups: int, shifts: int, c: HlsCosts = HLS) -> int:
    """A MAC layer whose weights arrive from DDR: the burst reader (one 64-bit beat per cycle), the unpacker
    (one group every `shifts` cycles: it may take in that many beats per group) and the loop nest run
    concurrently (DATAFLOW), so the slowest sets the layer's time; the first beat comes after the read latency."""
    return max(s.cycles, groups * shifts + c.ddr_read_latency + s.depth + c.loop_overhead)


# ---- resources ------------------------------------------------------------------------------------------

def mac_dsp(lanes: int, c: HlsCosts = HLS) -> int:
    return lanes * (c.dsp_fmul + c.dsp_fadd)


def pool_dsp(layer: Layer, c: HlsCosts = HLS) -> int:
    """An average pool's k*k adders and the multiplier by 1/(k*k); a max pool compares in LUTs."""
    return layer.kernel[0] * layer.kernel[1] * c.dsp_fadd + c.dsp_fmul if layer.op == "avgpool2d" else 0


def mac_lut_ff(lanes: int, stream: WeightStream, c: HlsCosts = HLS) -> tuple[int, int]:
    from .memory import LUTRAM_BITS_PER_LUT

    per = [c.lut_ff["fmul"], c.lut_ff["fadd"], c.lut_ff["lane_decoder"]]
    lut = (lanes * sum(p[0] for p in per) + c.lut_ff["loop"][0]
           + lanes * math.ceil(stream.rom_bits / LUTRAM_BITS_PER_LUT))
    ff = lanes * sum(p[1] for p in per) + c.lut_ff["loop"][1]
    return lut, ff


def pool_lut_ff(layer: Layer, c: HlsCosts = HLS) -> tuple[int, int]:
    window = layer.kernel[0] * layer.kernel[1]
    ops = ([c.lut_ff["fcmp"]] * (window - 1) if layer.op == "maxpool2d"
           else [c.lut_ff["fadd"]] * window + [c.lut_ff["fmul"]])
    return sum(o[0] for o in ops) + c.lut_ff["loop"][0], sum(o[1] for o in ops) + c.lut_ff["loop"][1]


def lane_options(layer: Layer) -> list[int]:
    """Lane counts of an HLS MAC layer: any divisor of its outputs."""
    return layer.lane_divisors()
