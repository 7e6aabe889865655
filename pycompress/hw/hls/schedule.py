"""Cycle model of the generated loop nests (kernel v3): trip counts, II, pipeline depth, per layer.

Every layer of `hls_templates/kernel.cpp.j2` is a perfect loop nest with a PIPELINE pragma on the
innermost loop, which Vitis flattens into one pipeline: cycles = (iterations - 1) x II + depth +
LOOP_OVERHEAD. The depth is the longest chain of operator latencies in one iteration (a block-RAM
read 2, a LUTRAM read or FIFO read 1, fmul 4, fadd 5, fcmp 2, integer logic 0) plus the store;
the rule checker (`pycompress/hw/hls/check`) computes the same chain from the generated C++ with
the same constants, and the tests hold the two equal. A MAC layer's accumulator recurs every
`distance` = groups x pixel steps iterations; its DEPENDENCE pragma states that distance, and the II
is the smallest that keeps distance x II >= depth (1 when the distance covers the pipeline). Latencies
are typical Vitis figures for float cores on a 7-series part at 100 MHz: an estimate, not synthesis.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

FMUL_LATENCY, FADD_LATENCY, FCMP_LATENCY, FDIV_LATENCY = 4, 5, 2, 16
BRAM_READ_LATENCY = 2  # block RAM with its output register
LUTRAM_READ_LATENCY = 1
FIFO_READ_LATENCY = 1
MEM_PORTS = 2  # a ram_2p buffer serves two reads per cycle
LOOP_OVERHEAD = 2  # entry and exit of one flattened pipeline
DDR_READ_LATENCY = 64  # cycles from a burst request on a Zynq-7000 HP port to its first beat (typical, 100 MHz)
PIXEL_LANES = (1, 2)  # pixel lanes read their inputs through the buffer's two ports


@dataclass(frozen=True)
class LoopNest:
    """One layer's flattened pipeline (or, for `outer` > 1, one pipeline restarted per outer iteration)."""

    name: str
    op: str
    trips: tuple[int, ...]  # outermost first
    ii: int
    depth: int
    lanes: int = 1  # channel lanes (P)
    distance: int = 0  # iterations between two updates of one accumulator (MAC layers)
    pixel_lanes: int = 1
    outer: int = 1  # restarts (a loop that is not pipelined around the pipeline)
    outer_extra: int = 0  # cycles each outer iteration adds around the pipeline

    @property
    def iterations(self) -> int:
        return math.prod(self.trips)

    @property
    def cycles(self) -> int:
        if not self.trips:
            return 0
        inner = (self.iterations - 1) * self.ii + self.depth + LOOP_OVERHEAD
        return inner if self.outer == 1 else self.outer * (inner + self.outer_extra + 1)


def load_latency(big: bool | None) -> int:
    """A read of a block-RAM (True) or LUTRAM (False) memory; None: no read."""
    return 0 if big is None else BRAM_READ_LATENCY if big else LUTRAM_READ_LATENCY


def mac_shape(layer: dict) -> tuple[int, int, int]:
    """(outputs split over channel lanes, reduction length, pixels per output channel) of a conv2d/linear layer."""
    if layer["op"] == "conv2d":
        return layer["oc"], layer["ic"] * layer["kh"] * layer["kw"], layer["oh"] * layer["ow"]
    return layer["out_size"], layer["in_size"], 1


def mac_depth(w_loads: tuple, b_big: bool | None, in_big: bool, out_big: bool, relu: bool, ddr: bool = False) -> int:
    """`w_loads`: the memories a weight code passes through in series (True: block RAM)."""
    weight = FIFO_READ_LATENCY if ddr else sum(load_latency(b) for b in w_loads)
    product = max(weight, load_latency(in_big)) + FMUL_LATENCY
    acc = max(load_latency(out_big), load_latency(b_big))
    return max(acc, product) + FADD_LATENCY + (FCMP_LATENCY if relu else 0) + 1


def mac_nest(layer: dict, lanes: int, pixel_lanes: int, w_loads: tuple, b_big: bool | None, in_big: bool,
             out_big: bool, ddr: bool = False, recurrence: int = 0) -> LoopNest:
    """Reduction outermost, then channel groups, then pixel steps; lanes x pixel_lanes outputs per iteration.
    `recurrence`: cycles a weight decoder carries from one iteration to the next (an entropy decoder's code
    length passes through its decode table), a lower bound on II."""
    outputs, reduction, pixels = mac_shape(layer)
    groups, steps = outputs // lanes, pixels // pixel_lanes
    distance = groups * steps
    depth = mac_depth(w_loads, b_big, in_big, out_big, layer.get("relu", False), ddr)
    ii = max(1, math.ceil(depth / distance), recurrence)
    trips = (reduction, groups, layer["oh"], steps // layer["oh"]) if layer["op"] == "conv2d" else (reduction, groups)
    return LoopNest(layer["layer"], layer["op"], trips, ii, depth, lanes, distance, pixel_lanes)


def pool_reads_per_bank(k: int, stride: int, in_pq: int) -> int:
    """Reads of one input bank per output: the window's columns split over the input's pixel banks when the
    stride keeps each column in one bank (even stride), else every read may reach every bank."""
    if in_pq == 1 or stride % in_pq:
        return k * k
    return k * math.ceil(k / in_pq)


def pool_nest(layer: dict, in_pq: int = 1, in_big: bool = True) -> LoopNest:
    """One output per iteration, the k*k window unrolled: II is the reads per bank over two ports."""
    k, window = layer["k"], layer["k"] * layer["k"]
    ii = math.ceil(pool_reads_per_bank(k, layer["stride"], in_pq) / MEM_PORTS)
    first = load_latency(in_big)
    if layer["op"] == "maxpool2d":
        depth = first + (window - 1) * FCMP_LATENCY + 1
    else:
        depth = first + window * FADD_LATENCY + FMUL_LATENCY + 1  # sum, then times 1/(k*k)
    return LoopNest(layer["layer"], layer["op"], (layer["oc"], layer["oh"], layer["ow"]), ii, depth)


def relu_nest(name: str, size: int, in_big: bool) -> LoopNest:
    return LoopNest(name, "relu", (size,), 1, load_latency(in_big) + FCMP_LATENCY + 1)


def add_nest(name: str, channels: int, pixels: int, a_big: bool, b_big: bool) -> LoopNest:
    """Channel by channel (the two inputs may be banked differently): a pipeline over the pixels per channel."""
    depth = max(load_latency(a_big), load_latency(b_big)) + FADD_LATENCY + 1
    return LoopNest(name, "add", (pixels,), 1, depth, outer=channels, outer_extra=IDIV_CYCLES)


IDIV_CYCLES = 36  # the per-channel bank arithmetic of `add` divides (outside its pipeline)


def gap_nest(name: str, channels: int, pixels: int, in_big: bool) -> LoopNest:
    """Per channel one sequential float sum: the add recurs every iteration, so II is the adder's latency."""
    depth = load_latency(in_big) + FADD_LATENCY
    return LoopNest(name, "globalavgpool", (pixels,), FADD_LATENCY, depth, outer=channels,
                    outer_extra=FMUL_LATENCY + 1)


def io_nest(name: str, size: int, read_big: bool | None) -> LoopNest:
    """The input read (a FIFO read, a store) or the output write (a buffer read, a FIFO write)."""
    depth = (FIFO_READ_LATENCY + 1) if read_big is None else load_latency(read_big) + 1
    return LoopNest(name, "io", (size,), 1, depth)


def ddr_layer_cycles(nest: LoopNest, groups: int, shifts: int, words: int) -> int:
    """A MAC layer whose weights arrive from DDR: burst reader (one beat per cycle), unpacker (one group every
    `shifts` cycles) and the loop nest run concurrently through FIFOs, so the slowest sets the layer's time,
    after the read latency of the first beat."""
    return max(nest.cycles, groups * shifts + 2 * LOOP_OVERHEAD, words + LOOP_OVERHEAD) + DDR_READ_LATENCY
