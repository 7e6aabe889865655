"""Cycle model of the generated loop nests: trip counts, II, pipeline depth and fill, per layer.

Every layer of `hls_templates/kernel.cpp.j2` is one perfect loop nest with a
PIPELINE pragma on the innermost loop, which Vitis flattens into a single
pipeline: cycles = (iterations - 1) * II + depth + LOOP_OVERHEAD. For the MAC
layers the reduction is outermost and the outputs in flight innermost, so the
float accumulation of one output recurs only every `distance` iterations;
II = ceil(ACC_CHAIN / distance) (1 once distance >= ACC_CHAIN). Latencies are
typical Vitis figures for float cores on a 7-series part at 100 MHz: an estimate,
not synthesis.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

FMUL_LATENCY, FADD_LATENCY, FCMP_LATENCY, FDIV_LATENCY = 4, 5, 2, 16
BRAM_READ_LATENCY = 2
ACC_CHAIN = BRAM_READ_LATENCY + FADD_LATENCY  # read the partial sum, add, write back: the carried dependence
DECODE_LATENCY = {"expshare": 2, "cluster": 2, "raw": 1, "float": 1}  # window realign (+ exponent / codebook ROM)
WIDEN_LATENCY = {"fp16": 1, "bf16": 0, "fp32": 0}
MEM_PORTS = 2  # a block RAM serves two reads per cycle
LOOP_OVERHEAD = 2  # entry and exit of one flattened pipeline
DDR_READ_LATENCY = 64  # cycles from a burst request on a Zynq-7000 HP port to its first beat (typical, 100 MHz)


@dataclass(frozen=True)
class LoopNest:
    """One layer's flattened pipeline."""

    name: str
    op: str
    trips: tuple[int, ...]  # outermost first
    ii: int
    depth: int
    lanes: int = 1  # outputs computed per iteration (P)
    distance: int = 0  # iterations between two updates of one accumulator (MAC layers)

    @property
    def iterations(self) -> int:
        return math.prod(self.trips)

    @property
    def cycles(self) -> int:
        return 0 if not self.trips else (self.iterations - 1) * self.ii + self.depth + LOOP_OVERHEAD


def mac_shape(layer: dict) -> tuple[int, int, int]:
    """(outputs split over lanes, reduction length, pixels per output channel) of a conv2d/linear layer."""
    if layer["op"] == "conv2d":
        return layer["oc"], layer["ic"] * layer["kh"] * layer["kw"], layer["oh"] * layer["ow"]
    return layer["out_size"], layer["in_size"], 1


def ddr_layer_cycles(nest: LoopNest, groups: int, shifts: int) -> int:
    """A MAC layer whose weights arrive from DDR: the burst reader (one 64-bit beat per cycle), the unpacker
    (one group every `shifts` cycles: it may take in that many beats per group) and the loop nest run
    concurrently (DATAFLOW), so the slowest sets the layer's time; the first beat comes after the read latency."""
    return max(nest.cycles, groups * shifts + DDR_READ_LATENCY + nest.depth + LOOP_OVERHEAD)


def mac_nest(layer: dict, lanes: int, scheme: str, fmt: str) -> LoopNest:
    """Reduction outermost, then output groups, then pixels; `lanes` outputs per iteration."""
    outputs, reduction, pixels = mac_shape(layer)
    groups = outputs // lanes
    distance = groups * pixels
    ii = max(1, math.ceil(ACC_CHAIN / distance))
    depth = BRAM_READ_LATENCY + DECODE_LATENCY[scheme] + WIDEN_LATENCY[fmt] + FMUL_LATENCY + FADD_LATENCY + 1
    trips = (reduction, groups, pixels) if layer["op"] == "conv2d" else (reduction, groups)
    return LoopNest(layer["layer"], layer["op"], trips, ii, depth, lanes, distance)


def pool_nest(layer: dict) -> LoopNest:
    """One output per iteration; the k*k window is unrolled, so II is the reads per port."""
    window = layer["k"] * layer["k"]
    ii = math.ceil(window / MEM_PORTS)
    if layer["op"] == "maxpool2d":
        depth = BRAM_READ_LATENCY + ii + (window - 1) * FCMP_LATENCY + 1
    else:
        depth = BRAM_READ_LATENCY + ii + window * FADD_LATENCY + FMUL_LATENCY + 1  # sum, then times 1/(k*k)
    return LoopNest(layer["layer"], layer["op"], (layer["oc"], layer["oh"], layer["ow"]), ii, depth)


def elementwise_nest(name: str, op: str, size: int) -> LoopNest:
    """ReLU in place and the stream copies: one value per cycle."""
    return LoopNest(name, op, (size,), 1, BRAM_READ_LATENCY + 2)


def layer_nest(layer: dict, lanes: int = 1, scheme: str = "raw", fmt: str = "fp32") -> LoopNest:
    if layer["op"] in ("conv2d", "linear"):
        return mac_nest(layer, lanes, scheme, fmt)
    if layer["op"] in ("maxpool2d", "avgpool2d"):
        return pool_nest(layer)
    if layer["op"] in ("relu", "add"):
        return elementwise_nest(layer["layer"], layer["op"], layer["out_size"])
    if layer["op"] == "globalavgpool":  # one sequential float sum per channel: the add recurs every iteration
        pixels = layer["ih"] * layer["iw"]
        return LoopNest(layer["layer"], layer["op"], (layer["ic"], pixels), FADD_LATENCY,
                        BRAM_READ_LATENCY + FADD_LATENCY + FMUL_LATENCY + 1)
    return LoopNest(layer["layer"], layer["op"], (), 1, 0)
