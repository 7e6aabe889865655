"""The RTL back end's cost table and rules: cycles and resources of the whole-network engine's units.

Each Conv2d or Linear is one MAC engine (rtl/conv_engine.sv, rtl/fc_engine.sv)
with the following ReLU fused, each pool a streaming unit. An RTL lane is a whole
float multiplier + adder (~1,550 LUT by Yosys), so the HLS kernel's lanes would not
fit the xc7z020's LUTs: the RTL has its own table. Cycles and resources are
ESTIMATES from the measured figures below; the simulation and Yosys measure them.
"""
from __future__ import annotations

from dataclasses import dataclass

from .budget import Objective, Resources, Shares
from .model import Layer, Schedule


@dataclass(frozen=True)
class RtlCosts:
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
    block_min_bits: int = 4_096  # rtl images' BLOCK_MIN_BITS: smaller tables go to LUTs
    mac_latency: int = 7  # fp32_mul 3 + fp32_add 4
    min_groups: int = 4  # fc_engine (fp32_mac_bank): terms of one accumulator >= the adder latency (4) clocks apart
    min_conv_slots: int = 6  # conv_engine (fp32_mac_bram): G * OH * OW accumulators >= its read-add-write loop
    avgpool_cycles_per_input: int = 6  # each add waits for the previous one
    # at most 70% of each board resource (room for the PS interconnect, DMA, routing); FFs not budgeted
    shares: Shares = Shares(dsp=0.7, bram18k=0.7, lut=0.7, ff=None)
    # the goal for the default LeNet: lanes go to the slowest layer until an image takes at most this
    objective: Objective = Objective("slowest_first", target=100_000)


RTL = RtlCosts()


def lane_options(layer: Layer, c: RtlCosts = RTL) -> list[int]:
    """Lane counts the engine accepts: divisors of the outputs leaving enough accumulators a lane
    (a conv lane also runs over every pixel, so it has pixels x groups of them)."""
    least = c.min_conv_slots if layer.op == "conv2d" else c.min_groups
    return [p for p in layer.lane_divisors() if (layer.outputs // p) * layer.pixels >= least]


def compute_cycles(layer: Layer, lanes: int, c: RtlCosts = RTL) -> int:
    """One term a clock per lane plus the MAC latency; fc_engine adds a bias step per output group
    (its measured form), conv_engine starts each sum from the bias."""
    if not layer.mac:
        return 0
    return (layer.reduction + (layer.op == "linear")) * (layer.outputs // lanes) * layer.pixels + c.mac_latency


def schedule(layer: Layer, lanes: int, c: RtlCosts = RTL) -> Schedule:
    """Start..done: load, compute, drain (not overlapped inside an engine); a max pool streams one
    input a clock, an average pool a few."""
    if layer.mac:
        groups = layer.outputs // lanes
        terms = layer.reduction + (layer.op == "linear")
        cycles = layer.n_in + compute_cycles(layer, lanes, c) + layer.n_out + 4
        loops, trips = (("reduction", "groups", "pixels"), (terms, groups, layer.pixels)) if layer.op == "conv2d" else \
            (("reduction", "groups"), (terms, groups))
        return Schedule(loops, trips, 1, c.mac_latency, cycles, lanes, groups * layer.pixels)
    per = c.avgpool_cycles_per_input if layer.op == "avgpool2d" else 1
    return Schedule(("inputs",), (layer.n_in,), per, 2, layer.n_in * per + 2, 0)


def _brams(bits: int, c: RtlCosts) -> int:
    return 0 if bits < c.block_min_bits else -(-bits // c.bram_bits)


def resources(layer: Layer, lanes: int, weight_bits: int, c: RtlCosts = RTL) -> Resources:
    """LUT/FF/DSP from the measured slope; BRAM18K from the lane tables, input buffer and accumulators."""
    if not layer.mac:
        lut, dsp = c.pool_lut, 0
        if layer.op == "avgpool2d":  # + its fp32_add and fp32_mul
            lut, dsp = lut + c.add_lut + c.mul_lut, c.mul_dsp
        return Resources(lut, 32 * layer.out_shape[-1] + 100, dsp, 0)
    groups = layer.outputs // lanes
    per_lane_w = layer.reduction * groups * weight_bits
    bram = lanes * _brams(per_lane_w, c) + _brams(32 * layer.n_in, c) + lanes * _brams(32 * groups * layer.pixels, c)
    return Resources(c.lut_engine + c.lut_lane * lanes, c.ff_engine + c.ff_lane * lanes,
                     c.dsp_engine + c.dsp_lane * lanes, bram)
