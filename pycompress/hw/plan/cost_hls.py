"""The HLS back end's cost table and rules (kernel v3): loop-nest cycles of the generated kernel and its resources.

Every layer of `hls_templates/kernel.cpp.j2` is a perfect loop nest with a PIPELINE pragma on the
innermost loop, which Vitis flattens into one pipeline: cycles = (iterations - 1) x II + depth + loop
overhead. The depth is the longest chain of operator latencies in one iteration (a block-RAM read,
a LUTRAM or FIFO read, fmul, fadd, fcmp; integer logic 0) plus the store; the rule checker
(pycompress/hw/hls/check) computes the same chain from the generated C++ with this table, and the
tests hold the two equal. A MAC layer's accumulator recurs every `distance` = groups x pixel steps
iterations; its DEPENDENCE pragma states that distance, and II is the smallest with distance x II >=
depth. Latencies are typical Vitis figures for the Xilinx float cores on a 7-series part at 100 MHz;
DSP48E1: a max-DSP fmul takes 3, a full-DSP fadd 2, a fabric fadd none (Vitis defaults, BIND_OP);
LUT/FF are rough per-operator constants. All of it is an estimate, not synthesis.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from .budget import Objective, Shares
from .model import Lanes, Layer, Schedule


@dataclass(frozen=True)
class HlsCosts:
    """The one place the HLS cost figures live (Xilinx Floating-Point cores through Vitis HLS, 7-series, 100 MHz)."""

    fmul_latency: int = 4
    fadd_latency: int = 5
    fcmp_latency: int = 2
    fdiv_latency: int = 16
    bram_read_latency: int = 2  # block RAM with its output register
    lutram_read_latency: int = 1
    fifo_read_latency: int = 1
    idiv_latency: int = 36  # a 32-bit integer divider core
    mem_ports: int = 2  # a ram_2p buffer serves two reads per cycle
    pixel_lanes: tuple[int, ...] = (1, 2)  # pixel lanes read their inputs through the buffer's two ports
    loop_overhead: int = 2  # entry and exit of one flattened pipeline
    ddr_read_latency: int = 64  # cycles from a burst request on a Zynq-7000 HP port to its first beat (typical)
    dsp_fmul: int = 3
    dsp_fadd: int = 2
    # per operator the rule checker counts in a pipelined loop: (DSP48E1, LUT, FF); "fadd:fabric" an adder bound
    # to LUTs, "idiv" a 32-bit integer divider, "shifter" a 32-bit barrel shifter, "imul" a small multiplier
    op_costs: Mapping[str, tuple[int, int, int]] = field(default_factory=lambda: MappingProxyType(
        {"fmul": (3, 100, 150), "fadd": (2, 250, 350), "fadd:fabric": (0, 430, 560), "fcmp": (0, 70, 20),
         "fdiv": (0, 800, 1400), "idiv": (0, 1100, 1200), "shifter": (0, 100, 0), "imul": (1, 20, 40)}))
    lut_ff: Mapping[str, tuple[int, int]] = field(default_factory=lambda: MappingProxyType(
        {"lane_decoder": (60, 60), "loop": (150, 200), "elementwise": (100, 100)}))
    # --weights ddr: per AXI master, its read adapter (a 64 x 64-bit burst buffer in one BRAM18K, address and
    # handshake logic)
    ddr_adapter: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({"bram18k": 1, "lut": 1200, "ff": 1500}))
    # the budget: every DSP, half the block RAM (the other half is left to the DMA and the rest of a system),
    # 70% of the LUTs and FFs
    shares: Shares = Shares(dsp=1.0, bram18k=0.5, lut=0.7, ff=0.7)
    # FINN's folding, hls4ml's reuse factor: the step that saves the most cycles per share of the budget, while a
    # step saves at least 0.5% of the objective (the interval under DATAFLOW, then the latency)
    objective: Objective = Objective("best_ratio", min_gain=0.005)


HLS = HlsCosts()


# ---- cycles ---------------------------------------------------------------------------------------------

def nest_cycles(trips: tuple[int, ...], ii: int, depth: int, c: HlsCosts = HLS) -> int:
    return 0 if not trips else (math.prod(trips) - 1) * ii + depth + c.loop_overhead


def load_latency(big: bool | None, c: HlsCosts = HLS) -> int:
    """A read of a block-RAM (True) or LUTRAM (False) memory; None: no read."""
    return 0 if big is None else c.bram_read_latency if big else c.lutram_read_latency


def mac_depth(w_loads: tuple, b_big: bool | None, in_big: bool, out_big: bool, relu: bool, ddr: bool = False,
              c: HlsCosts = HLS) -> int:
    """`w_loads`: the memories a weight code passes through in series (True: block RAM)."""
    weight = c.fifo_read_latency if ddr else sum(load_latency(b, c) for b in w_loads)
    product = max(weight, load_latency(in_big, c)) + c.fmul_latency
    acc = max(load_latency(out_big, c), load_latency(b_big, c))
    return max(acc, product) + c.fadd_latency + (c.fcmp_latency if relu else 0) + 1


def mac_schedule(layer: Layer, lanes: Lanes, w_loads: tuple, b_big: bool | None, in_big: bool, out_big: bool,
                 ddr: bool = False, recurrence: int = 0, c: HlsCosts = HLS) -> Schedule:
    """Reduction outermost, then channel groups, then pixel steps; lanes.units outputs per iteration.
    `recurrence`: cycles a weight decoder carries from one iteration to the next (an entropy decoder's code
    length passes through its decode table), a lower bound on II."""
    groups, steps = layer.outputs // lanes.channels, layer.pixels // lanes.pixels
    distance = groups * steps
    depth = mac_depth(w_loads, b_big, in_big, out_big, layer.relu, ddr, c)
    ii = max(1, math.ceil(depth / distance), recurrence)
    if layer.op == "conv2d":
        loops, trips = ("reduction", "groups", "rows", "pixel steps"), (layer.reduction, groups, layer.out_shape[1],
                                                                         steps // layer.out_shape[1])
    else:
        loops, trips = ("reduction", "groups"), (layer.reduction, groups)
    return Schedule(loops, trips, ii, depth, nest_cycles(trips, ii, depth, c), lanes.channels, distance)


def pool_reads_per_bank(k: int, stride: int, in_pq: int) -> int:
    """Reads of one input bank per output: the window's columns split over the input's pixel banks when the
    stride keeps each column in one bank (even stride), else every read may reach every bank."""
    if in_pq == 1 or stride % in_pq:
        return k * k
    return k * math.ceil(k / in_pq)


def pool_schedule(layer: Layer, in_pq: int = 1, in_big: bool = True, c: HlsCosts = HLS) -> Schedule:
    """One output per iteration, the k*k window unrolled: II is the reads per bank over two ports."""
    k = layer.kernel[0]
    window = k * k
    ii = math.ceil(pool_reads_per_bank(k, layer.stride, in_pq) / c.mem_ports)
    first = load_latency(in_big, c)
    if layer.op == "maxpool2d":
        depth = first + (window - 1) * c.fcmp_latency + 1
    else:  # sum, then times 1/(k*k)
        depth = first + window * c.fadd_latency + c.fmul_latency + 1
    trips = tuple(layer.out_shape)
    return Schedule(("channels", "rows", "columns"), trips, ii, depth, nest_cycles(trips, ii, depth, c))


def relu_schedule(layer: Layer, in_big: bool, c: HlsCosts = HLS) -> Schedule:
    depth = load_latency(in_big, c) + c.fcmp_latency + 1
    return Schedule(("elements",), (layer.n_out,), 1, depth, nest_cycles((layer.n_out,), 1, depth, c))


def add_schedule(layer: Layer, a_big: bool, b_big: bool, c: HlsCosts = HLS) -> Schedule:
    """Channel by channel (the two inputs may be banked differently; the bank arithmetic divides outside the
    pipeline): a pipeline over the pixels, restarted per channel."""
    ch, h, w = layer.out_shape if len(layer.out_shape) == 3 else (layer.n_out, 1, 1)
    depth = max(load_latency(a_big, c), load_latency(b_big, c)) + c.fadd_latency + 1
    inner = nest_cycles((h * w,), 1, depth, c)
    return Schedule(("pixels of a channel",), (h * w,), 1, depth, ch * (inner + c.idiv_latency + 1))


def gap_schedule(layer: Layer, in_big: bool, c: HlsCosts = HLS) -> Schedule:
    """Per channel one sequential float sum: the add recurs every iteration, so II is the adder's latency."""
    ch, h, w = layer.in_shape
    depth = load_latency(in_big, c) + c.fadd_latency
    inner = nest_cycles((h * w,), c.fadd_latency, depth, c)
    return Schedule(("pixels of a channel",), (h * w,), c.fadd_latency, depth, ch * (inner + c.fmul_latency + 2))


def io_schedule(size: int, read_big: bool | None, c: HlsCosts = HLS) -> Schedule:
    """The input read (a FIFO read, a store) or the output write (a buffer read, a FIFO write)."""
    depth = (c.fifo_read_latency + 1) if read_big is None else load_latency(read_big, c) + 1
    return Schedule(("elements",), (size,), 1, depth, nest_cycles((size,), 1, depth, c))


def ddr_layer_cycles(s: Schedule, groups: int, shifts: int, words: int, c: HlsCosts = HLS) -> int:
    """A MAC layer whose weights arrive from DDR: burst reader (one beat per cycle), unpacker (one group every
    `shifts` cycles) and the loop nest run concurrently through FIFOs, so the slowest sets the layer's time,
    after the read latency of the first beat."""
    return max(s.cycles, groups * shifts + 2 * c.loop_overhead, words + c.loop_overhead) + c.ddr_read_latency


# ---- resources ------------------------------------------------------------------------------------------

def mac_dsp(lanes: Lanes, c: HlsCosts = HLS) -> int:
    """One float multiplier and one adder per output computed per cycle (the adder on LUTs when `fabric`)."""
    return lanes.units * (c.dsp_fmul + (0 if lanes.fabric else c.dsp_fadd))


def mac_lut_ff(lanes: Lanes, rom_bits: int, relu: bool = False, c: HlsCosts = HLS) -> tuple[int, int, int]:
    """(operator LUT, decoder LUT, FF): multiply-add pairs (+ the fused ReLU's compare), one code decoder per
    channel lane with its own copy of the decoder ROM (exponent ROM or codebook, in LUTs)."""
    from .memory import LUTRAM_BITS_PER_LUT

    ops = [c.op_costs["fmul"], c.op_costs["fadd:fabric" if lanes.fabric else "fadd"]]
    ops += [c.op_costs["fcmp"]] if relu else []
    lut = lanes.units * sum(o[1] for o in ops) + c.lut_ff["loop"][0]
    ff = lanes.units * sum(o[2] for o in ops) + lanes.channels * c.lut_ff["lane_decoder"][1] + c.lut_ff["loop"][1]
    decoders = lanes.channels * (c.lut_ff["lane_decoder"][0] + math.ceil(rom_bits / LUTRAM_BITS_PER_LUT))
    return lut, decoders, ff


def pool_dsp(layer: Layer, c: HlsCosts = HLS) -> int:
    """An average pool's k*k adders and the multiplier by 1/(k*k); a max pool compares in LUTs."""
    return layer.kernel[0] * layer.kernel[1] * c.dsp_fadd + c.dsp_fmul if layer.op == "avgpool2d" else 0


def pool_lut_ff(layer: Layer, c: HlsCosts = HLS) -> tuple[int, int]:
    window = layer.kernel[0] * layer.kernel[1]
    ops = ([c.op_costs["fcmp"]] * (window - 1) if layer.op == "maxpool2d"
           else [c.op_costs["fadd"]] * window + [c.op_costs["fmul"]])
    return sum(o[1] for o in ops) + c.lut_ff["loop"][0], sum(o[2] for o in ops) + c.lut_ff["loop"][1]


def elementwise_costs(layer: Layer, c: HlsCosts = HLS) -> tuple[int, int, int]:
    """(DSP, LUT, FF) of a ReLU (a compare), an add (an adder) or a global pool (an adder and a multiplier)."""
    ops = {"relu": ["fcmp"], "add": ["fadd"], "globalavgpool": ["fadd", "fmul"]}.get(layer.op, [])
    d = sum(c.op_costs[o][0] for o in ops)
    return d, sum(c.op_costs[o][1] for o in ops) + c.lut_ff["loop"][0], sum(c.op_costs[o][2] for o in ops) + c.lut_ff["loop"][1]


def mux_luts(bits: int, ways: int) -> int:
    """A `ways`-to-1 multiplexer of `bits` bits: a LUT6 selects among four inputs."""
    return 0 if ways <= 1 else bits * math.ceil((ways - 1) / 3)


def lane_options(layer: Layer, c: HlsCosts = HLS) -> list[Lanes]:
    """Channel lanes dividing the outputs x pixel lanes dividing a conv's rows, adders on DSP or on LUTs;
    fewest units first."""
    pixel = [q for q in c.pixel_lanes if layer.op == "conv2d" and layer.out_shape[2] % q == 0] or [1]
    return sorted((Lanes(p, q, f) for p in layer.lane_divisors() for q in pixel for f in (False, True)),
                  key=lambda x: (x.units, x.channels, x.fabric))

