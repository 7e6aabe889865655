"""The whole-network RTL engine: which engine serves each layer, with how many lanes, at what (estimated) cost.

A supported graph is a chain conv (+ReLU) / pool / flatten / linear (+ReLU): each
Conv2d or Linear becomes one MAC engine (`rtl/conv_engine.sv`, `rtl/fc_engine.sv`)
with the following ReLU fused, each pool a streaming unit (`rtl/maxpool_unit.sv`,
`rtl/avgpool_unit.sv`), Flatten nothing (activations travel in C, H, W order).
The engines are chained by their AXI4-Stream ports in the generated top
(`rtl_engine_render.py`, template `rtl/templates/network_top.sv.j2`).

The lane allocator is the RTL's own, not the HLS allocator's: an RTL lane is a
whole float multiplier + adder (~1,550 LUT by Yosys), so the HLS kernel's 42
lanes for LeNet would not fit the xc7z020's 53,200 LUT. It adds lanes one at a
time to the layer with the most estimated cycles until the image latency meets
`target_cycles`, and never past `fill` of the board's LUT/DSP/BRAM (boards/<b>/board.json).
Cycles and resources here are ESTIMATES from the measured figures in LANE_COST;
the simulation and Yosys measure them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from pycompress.hw.board import Board, load_board
from pycompress.core.errors import PycompressError
from pycompress.core.graph import AvgPool2d, Conv2d, Flatten, Graph, Linear, MaxPool2d, ReLU
from pycompress.hw.names import unique_identifiers

TARGET_CYCLES = 100_000  # per image, the goal for the default LeNet
FILL = 0.7  # at most this share of each board resource (room for the PS interconnect, DMA, routing)
MIN_GROUPS = 4  # fc_engine (fp32_mac_bank): terms of one accumulator >= the adder latency (4) clocks apart
MIN_CONV_SLOTS = 6  # conv_engine (fp32_mac_bram): G * OH * OW accumulators >= its read-add-write loop
MAC_LATENCY = 7  # fp32_mul 3 + fp32_add 4


@dataclass(frozen=True)
class LaneCost:
    """Yosys synth_xilinx (xc7) figures, measured (docs/rtl.md, `python sim/fc_harness.py --synth`):
    fc_engine sized for LeNet fc1 at P=1 (1,594 LUT, 600 FF, 3 DSP) and P=12 (18,606 LUT, 5,270 FF, 25 DSP).
    Per lane = the slope, per engine = the rest; the one place these numbers live."""

    lut_lane: int = 1_547
    ff_lane: int = 425
    dsp_lane: int = 2
    lut_engine: int = 47
    ff_engine: int = 175
    dsp_engine: int = 1
    pool_lut: int = 300  # comparator / counters of a pooling unit (a guess, not measured)
    add_lut: int = 491  # fp32_add, fp32_mul (Yosys, docs/rtl.md "Float units")
    mul_lut: int = 667
    mul_dsp: int = 2
    bram_bits: int = 18_432  # one RAMB18
    block_min_bits: int = 4_096  # rtl_images.BLOCK_MIN_BITS: smaller tables go to LUTs


LANE_COST = LaneCost()


@dataclass(frozen=True)
class Stage:
    """One engine of the chain. Shapes are (C, H, W) or (N,); `lanes` is 0 for a pooling unit."""

    kind: str  # "conv", "fc", "maxpool", "avgpool"
    name: str  # model layer name
    ident: str  # sanitised (hwnames) for instance and wire names
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    lanes: int = 0
    relu: bool = False
    weight: str | None = None  # state_dict keys
    bias: str | None = None
    kernel: tuple[int, int] = (1, 1)
    stride: int = 1
    padding: tuple[int, int] = (0, 0)

    @property
    def mac(self) -> bool:
        return self.kind in ("conv", "fc")

    @property
    def n_in(self) -> int:
        return math.prod(self.in_shape)

    @property
    def n_out(self) -> int:
        return math.prod(self.out_shape)

    @property
    def outputs(self) -> int:
        """Outputs split over lanes: output channels (conv) or features (fc)."""
        return self.out_shape[0]

    @property
    def groups(self) -> int:
        return self.outputs // self.lanes if self.lanes else 0

    @property
    def reduction(self) -> int:
        if self.kind == "conv":
            return self.in_shape[0] * self.kernel[0] * self.kernel[1]
        return self.n_in

    @property
    def pixels(self) -> int:
        return self.n_out // self.outputs if self.kind == "conv" else 1

    def compute_cycles(self) -> int:
        """Estimate: one term a clock per lane plus the MAC latency; fc_engine adds a bias step per output group
        (its measured form), conv_engine starts each sum from the bias."""
        if not self.mac:
            return 0
        return (self.reduction + (self.kind == "fc")) * self.groups * self.pixels + MAC_LATENCY

    def cycles(self) -> int:
        """Estimate of start..done: load, compute, drain (not overlapped inside an engine); a max pool streams one
        input a clock, an average pool ~6 (each add waits for the previous one)."""
        if self.mac:
            return self.n_in + self.compute_cycles() + self.n_out + 4
        return self.n_in * (6 if self.kind == "avgpool" else 1) + 2

    def lane_options(self) -> list[int]:
        """Lane counts the engine accepts: divisors of the outputs leaving >= MIN_GROUPS accumulators a lane
        (a conv lane also runs over every pixel, so it has pixels x groups of them)."""
        least = MIN_CONV_SLOTS if self.kind == "conv" else MIN_GROUPS
        return [p for p in range(1, self.outputs + 1) if self.outputs % p == 0 and (self.outputs // p) * self.pixels >= least]


@dataclass(frozen=True)
class Resources:
    lut: int = 0
    ff: int = 0
    dsp: int = 0
    bram18k: int = 0

    def __add__(self, o: "Resources") -> "Resources":
        return Resources(self.lut + o.lut, self.ff + o.ff, self.dsp + o.dsp, self.bram18k + o.bram18k)

    def fits(self, board: Board, fill: float = FILL) -> bool:
        return (self.lut <= fill * board.lut and self.dsp <= fill * board.dsp48e1 and self.bram18k <= fill * board.bram18k)


def _brams(bits: int, c: LaneCost = LANE_COST) -> int:
    return 0 if bits < c.block_min_bits else -(-bits // c.bram_bits)


def stage_resources(s: Stage, weight_bits: int = 13, c: LaneCost = LANE_COST) -> Resources:
    """Estimate: LUT/FF/DSP from the measured slope; BRAM18K from the table, buffer and line-buffer bits."""
    if not s.mac:
        lut, dsp = c.pool_lut, 0
        if s.kind == "avgpool":  # + its fp32_add and fp32_mul
            lut, dsp = lut + c.add_lut + c.mul_lut, c.mul_dsp
        return Resources(lut, 32 * s.out_shape[-1] + 100, dsp, 0)
    per_lane_w = s.reduction * s.groups * weight_bits
    bram = s.lanes * _brams(per_lane_w) + _brams(32 * s.n_in) + s.lanes * _brams(32 * s.groups * s.pixels)
    return Resources(c.lut_engine + c.lut_lane * s.lanes, c.ff_engine + c.ff_lane * s.lanes,
                     c.dsp_engine + c.dsp_lane * s.lanes, bram)


@dataclass(frozen=True)
class EnginePlan:
    """The chain of stages, the board and the estimated image latency / interval and resources."""

    stages: tuple[Stage, ...]
    board: Board
    input_shape: tuple[int, ...]
    weight_bits: int
    target_cycles: int = TARGET_CYCLES
    notes: tuple[str, ...] = field(default=())

    @property
    def lanes(self) -> dict[str, int]:
        return {s.name: s.lanes for s in self.stages if s.mac}

    def latency(self) -> int:
        """Estimated cycles from an image's first word in to its last logit out (stages one after the other)."""
        return sum(s.cycles() for s in self.stages)

    def interval(self) -> int:
        """Estimated cycles between images once the stages overlap (the slowest stage)."""
        return max(s.cycles() for s in self.stages)

    def resources(self) -> Resources:
        total = Resources()
        for s in self.stages:
            total = total + stage_resources(s, self.weight_bits)
        return total


def engine_stages(graph: Graph, start: str | None = None) -> list[Stage]:
    """The graph as a chain of stages with one lane each; unsupported graphs are refused in one line.
    `start`: the engine from this layer on (its input is that layer's input), for tests of a chain's tail."""
    layers, shapes = list(graph.layers), graph.shapes()
    if any(getattr(l, "inputs", ()) for l in layers):
        raise PycompressError("RTL engine: only a plain chain of layers is supported (this graph has branches)")
    first = 0
    if start is not None:
        names = [l.name for l in layers]
        if start not in names:
            raise PycompressError(f"RTL engine: no layer {start!r} in the graph (layers: {', '.join(names)})")
        first = names.index(start)
    idents = unique_identifiers([l.name for l in layers], taken=("engine",))
    out: list[Stage] = []
    i = first
    while i < len(layers):
        l, ins, outs = layers[i], shapes[i], shapes[i + 1]
        relu = i + 1 < len(layers) and isinstance(layers[i + 1], ReLU)
        if isinstance(l, Conv2d):
            out.append(Stage("conv", l.name, idents[l.name], ins, outs, 1, relu, l.weight, l.bias, tuple(l.kernel),
                             l.stride, tuple(l.padding)))
            i += 2 if relu else 1
        elif isinstance(l, Linear):
            out.append(Stage("fc", l.name, idents[l.name], (math.prod(ins),), outs, 1, relu, l.weight, l.bias))
            i += 2 if relu else 1
        elif isinstance(l, (MaxPool2d, AvgPool2d)):
            kind = "maxpool" if isinstance(l, MaxPool2d) else "avgpool"
            if l.kernel > l.stride:
                raise PycompressError(f"RTL engine: {l.name}: overlapping pooling windows (kernel {l.kernel} > stride "
                                      f"{l.stride}) are not supported")
            if kind == "avgpool" and (l.kernel * l.kernel) & (l.kernel * l.kernel - 1):
                raise PycompressError(f"RTL engine: {l.name}: average pooling needs a power-of-two window "
                                      f"(kernel {l.kernel})")
            out.append(Stage(kind, l.name, idents[l.name], ins, outs, kernel=(l.kernel, l.kernel), stride=l.stride))
            i += 1
        elif isinstance(l, Flatten):
            i += 1
        else:
            raise PycompressError(f"RTL engine: layer {l.name} ({l.op}) has no RTL engine (supported: conv2d, linear, "
                                  "relu after them, maxpool2d, avgpool2d, flatten)")
    if not out or not out[-1].mac:
        raise PycompressError("RTL engine: the graph must end with a conv2d or linear layer")
    return out


def check_stage(s: Stage, params: Mapping[str, np.ndarray]) -> None:
    """Refuse what the engines cannot compute bit-exactly, in one line."""
    if s.mac and not s.lane_options():
        raise PycompressError(f"RTL engine: {s.name}: too few outputs per lane for the MAC schedule even with one lane")
    if s.kind == "conv" and s.stride < 1:
        raise PycompressError(f"RTL engine: {s.name}: stride {s.stride}")
    if s.mac and s.bias and np.any(np.asarray(params[s.bias], np.float32).view(np.uint32) == 0x8000_0000):
        raise PycompressError(f"RTL engine: {s.name}: a -0 bias (the engine adds it to +0 and would give +0)")


def allocate(stages: list[Stage], fixed: Mapping[str, int], board: Board, weight_bits: int,
             target: int = TARGET_CYCLES, fill: float = FILL) -> tuple[list[Stage], tuple[str, ...]]:
    """Lanes per MAC stage: `fixed` ones as given (checked), the others grown greedily (most cycles first)."""
    from dataclasses import replace

    names = {s.name for s in stages if s.mac}
    unknown = sorted(set(fixed) - names)
    if unknown:
        raise PycompressError(f"--parallel: no MAC layer {unknown[0]!r} in the engine (layers: {', '.join(sorted(names))})")
    out = []
    for s in stages:
        if s.mac and s.name in fixed:
            if fixed[s.name] not in s.lane_options():
                raise PycompressError(f"--parallel {s.name}={fixed[s.name]}: lanes must divide {s.outputs} and leave >= "
                                      f"{MIN_GROUPS} outputs a lane (choose from {s.lane_options()})")
            s = replace(s, lanes=fixed[s.name])
        out.append(s)
    notes: list[str] = []
    total = lambda st: sum(x.cycles() for x in st)  # noqa: E731
    res = lambda st: sum((stage_resources(x, weight_bits) for x in st), Resources())  # noqa: E731
    while total(out) > target:
        growable = [(x.cycles(), i) for i, x in enumerate(out) if x.mac and x.name not in fixed
                    and any(p > x.lanes for p in x.lane_options())]
        if not growable:
            notes.append(f"estimated {total(out):,} cycles per image > target {target:,}: no layer can take more lanes")
            break
        _, i = max(growable)
        nxt = replace(out[i], lanes=min(p for p in out[i].lane_options() if p > out[i].lanes))
        trial = out[:i] + [nxt] + out[i + 1:]
        if not res(trial).fits(board, fill):
            notes.append(f"estimated {total(out):,} cycles per image > target {target:,}: more lanes would pass "
                         f"{fill:.0%} of the {board.name}")
            break
        out = trial
    return out, tuple(notes)


def plan_engine(km, parallel: Mapping[str, int] | None = None, *, board: str = "zedboard", start: str | None = None,
                target: int = TARGET_CYCLES) -> EnginePlan:
    """The engine of a kernel model (pycompress.hw.hls.context.kernel_model): stages, lanes, estimates."""
    b = load_board(board)
    stages = engine_stages(km.graph, start)
    for s in stages:
        check_stage(s, km.params)
        if s.mac and s.weight not in km.tables:
            raise PycompressError(f"RTL engine: {s.name}: weight {s.weight!r} is not stored encoded (no tables)")
    t0 = km.tables[stages[0].weight] if stages[0].mac else next(km.tables[s.weight] for s in stages if s.mac)
    weight_bits = _table_bits(t0)
    stages, notes = allocate(stages, dict(parallel or {}), b, weight_bits, target)
    return EnginePlan(tuple(stages), b, stages[0].in_shape, weight_bits, target, notes)


def _table_bits(t) -> int:
    """Bits a weight takes in its lane tables (sign + index + stored mantissa, or the codebook index)."""
    if getattr(t, "scheme", "") == "cluster":
        return int(t.index_bits)
    return 1 + int(t.index_bits) + int(t.mantissa_bits)
