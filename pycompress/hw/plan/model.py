"""The accelerator as data: layers in order, each with its loop schedule, lanes, weight stream and cost.

One `AcceleratorPlan` per model and back end (`hls` or `rtl`), built once by
`plan.build` from the layer graph, the cost table of that back end and the one
allocator; the HLS writer (hw/hls) and the RTL writer (hw/rtl) read it and
compute no lanes, schedules or costs of their own.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from pycompress.hw.board import Board
from .budget import Resources
from .memory import Memory, WeightStream

MAC_OPS = ("conv2d", "linear")
POOL_OPS = ("maxpool2d", "avgpool2d")
RTL_KINDS = {"conv2d": "conv", "linear": "fc", "maxpool2d": "maxpool", "avgpool2d": "avgpool", "globalavgpool": "gap",
             "add": "add", "fork": "fork", "fifo": "fifo", "activation": "act"}


@dataclass(frozen=True, order=True)
class Lanes:
    """What a MAC layer computes per cycle (HLS): `channels` output-channel lanes x `pixels` pixel lanes, each
    with one multiplier and one adder; `fabric`: the adders bound to LUTs (BIND_OP impl=fabric), not DSP48E1."""

    channels: int = 1
    pixels: int = 1
    fabric: bool = False

    @property
    def units(self) -> int:
        return self.channels * self.pixels

    def __str__(self) -> str:
        return f"{self.channels}x{self.pixels}" + ("f" if self.fabric else "")


@dataclass(frozen=True)
class Layer:
    """One layer of the lowered graph: its op and shapes, and (HLS) the activation buffers it reads and writes."""

    name: str  # model layer name (data: reaches generated text only through hw.names)
    op: str  # conv2d | linear | maxpool2d | avgpool2d | globalavgpool | relu | add | flatten | activation
    #          | scaleshift | softmax
    fn: str  # sanitised identifier of the layer in generated code
    in_shape: tuple[int, ...]  # (C, H, W) or (N,)
    out_shape: tuple[int, ...]
    kernel: tuple[int, int] = (1, 1)
    stride: int = 1
    padding: tuple[int, int] = (0, 0)
    weight: str | None = None  # state_dict keys
    bias: str | None = None
    relu: bool = False  # the ReLU after it is computed in its store (fused)
    fused: bool = False  # a ReLU fused into the conv/linear before it (no loop of its own)
    in_place: bool = False  # writes the buffer it reads (flatten, a ReLU nobody else reads)
    src: str = ""  # activation buffers (HLS) or stream links (RTL)
    dst: str = ""
    src2: str | None = None  # an add's second operand
    dst2: str | None = None  # RTL: a fork's second output link
    params: tuple = ()  # RTL activation: (function, *float parameters)
    depth: int = 0  # RTL fifo: words it holds

    @property
    def mac(self) -> bool:
        return self.op in MAC_OPS

    @property
    def kind(self) -> str:
        """The RTL engine's name for the unit that serves it."""
        return RTL_KINDS.get(self.op, self.op)

    @property
    def n_in(self) -> int:
        return math.prod(self.in_shape)

    @property
    def n_out(self) -> int:
        return math.prod(self.out_shape)

    @property
    def outputs(self) -> int:
        """Outputs split over lanes: output channels (conv) or features (linear)."""
        return self.out_shape[0] if self.op == "conv2d" else self.n_out

    @property
    def reduction(self) -> int:
        """Terms of one output: IC * KH * KW (conv) or the inputs (linear)."""
        return self.in_shape[0] * self.kernel[0] * self.kernel[1] if self.op == "conv2d" else self.n_in

    @property
    def pixels(self) -> int:
        """Outputs of one channel (conv); 1 for a linear layer."""
        return self.out_shape[1] * self.out_shape[2] if self.op == "conv2d" else 1

    def lane_divisors(self) -> list[int]:
        """Lane counts that divide the outputs (each lane owns a block of outputs)."""
        return [p for p in range(1, self.outputs + 1) if self.outputs % p == 0]


@dataclass(frozen=True)
class Buffer:
    """An activation buffer of float32 words, block-partitioned into `banks` (one per lane of its writer)."""

    name: str
    size: int  # floats
    banks: int = 1

    @property
    def memory(self) -> Memory:
        return Memory(32, self.size, self.banks)


@dataclass(frozen=True)
class Schedule:
    """A layer's loop schedule: the flattened pipeline's trip counts (outermost first), II, depth and lanes.

    MAC layers run the reduction outermost, so one accumulator is updated every
    `distance` iterations; `cycles` is the back end's count for the whole layer."""

    loops: tuple[str, ...]  # loop names, outermost first
    trips: tuple[int, ...]
    ii: int
    depth: int
    cycles: int
    lanes: int = 1  # outputs computed per iteration (P); RTL: channel lanes
    distance: int = 0  # iterations between two updates of one accumulator (MAC layers)
    pixel_lanes: int = 1  # RTL: pixels computed side by side for each channel lane

    @property
    def iterations(self) -> int:
        return math.prod(self.trips)

    @property
    def reduction(self) -> int:
        return self.trips[0] if self.loops and self.loops[0] == "reduction" else 0


@dataclass(frozen=True)
class LayerPlan:
    """A layer with what the allocator chose for it and what the cost model says it costs."""

    layer: Layer
    lanes: int  # outputs per cycle of a MAC layer; 1 (HLS) or 0 (RTL unit without lanes) otherwise
    schedule: Schedule
    resources: Resources
    stream: WeightStream | None = None  # MAC layers: the weight stream its lanes read
    memories: tuple[tuple[str, object], ...] = ()  # (role, memory): weight table, bias table (HLS TableMemory)
    pixel_lanes: int = 1  # HLS: pixel lanes of a conv (outputs per cycle = lanes x pixel_lanes)
    fabric_adders: bool = False  # HLS: its adders on LUTs (BIND_OP impl=fabric)
    bias_stream: WeightStream | None = None  # HLS: the bias as a table of the same kind

    # the layer's own facts, for writers that walk the plan
    name = property(lambda self: self.layer.name)
    op = property(lambda self: self.layer.op)
    kind = property(lambda self: self.layer.kind)
    ident = property(lambda self: self.layer.fn)
    mac = property(lambda self: self.layer.mac)
    relu = property(lambda self: self.layer.relu)
    in_shape = property(lambda self: self.layer.in_shape)
    out_shape = property(lambda self: self.layer.out_shape)
    n_in = property(lambda self: self.layer.n_in)
    n_out = property(lambda self: self.layer.n_out)
    outputs = property(lambda self: self.layer.outputs)
    reduction = property(lambda self: self.layer.reduction)
    pixels = property(lambda self: self.layer.pixels)
    weight = property(lambda self: self.layer.weight)
    bias = property(lambda self: self.layer.bias)
    kernel = property(lambda self: self.layer.kernel)
    stride = property(lambda self: self.layer.stride)
    padding = property(lambda self: self.layer.padding)

    @property
    def groups(self) -> int:
        """Outputs one lane computes in turn."""
        return self.layer.outputs // self.lanes if self.lanes else 0

    @property
    def cycles(self) -> int:
        return self.schedule.cycles


@dataclass(frozen=True)
class AcceleratorPlan:
    """The accelerator of one model on one back end: what both writers read."""

    backend: str  # "hls" | "rtl"
    board: Board
    layers: tuple[LayerPlan, ...]
    input_shape: tuple[int, ...]
    output_size: int
    buffers: tuple[Buffer, ...] = ()  # activation buffers (HLS)
    input_buffer: str = ""
    output_buffer: str = ""
    notes: tuple[str, ...] = field(default=())  # what stopped the allocator short of its objective
    estimate: object = None  # the back end's whole-kernel estimate (HLS: plan.estimate.KernelEstimate)

    @property
    def input_size(self) -> int:
        return math.prod(self.input_shape)

    @property
    def lanes(self) -> dict[str, int]:
        """Model layer name -> lanes of every MAC layer."""
        return {l.name: l.lanes for l in self.layers if l.mac}

    def lanes_by_fn(self) -> Mapping[str, int]:
        return {l.ident: l.lanes for l in self.layers if l.mac}

    def latency(self) -> int:
        """Estimated cycles from an image's first word in to its last output out (HLS: layers one after the other;
        RTL: the engine's chain model, stages overlapping)."""
        timing = getattr(self.estimate, "timing", None)
        return timing.latency if timing is not None else sum(l.cycles for l in self.layers)

    def interval(self) -> int:
        """Estimated cycles between images once the layers overlap (the slowest layer)."""
        timing = getattr(self.estimate, "timing", None)
        return timing.interval if timing is not None else max(l.cycles for l in self.layers)

    def resources(self) -> Resources:
        total = Resources()
        for l in self.layers:
            total = total + l.resources
        return total
