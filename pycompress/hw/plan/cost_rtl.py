"""The RTL back end's cost table and rules: the whole-network engine's units, their cycles and resources.

Every Conv2d or Linear is one rtl/mac_engine.sv (a Linear as a 1x1 convolution of a
1x1 image), with the following ReLU fused: PC channel lanes x PX pixel lanes, each a
float multiplier (fp32_mul_core, one DSP48E1 for a weight significand of at most 17
bits) and adder, its K bunches of output channels computed one after the other
(output-ordered: a bunch leaves while the next is computed) or, input-ordered, inside
the input-channel loop (`inner`; K = 1 the plain case): a pass fires as soon as the input
rows it reads are loaded, and in the last input channel the bunches finish one by one,
so the first leave while the last are computed. Each pool is a streaming
unit. `chain_timing` (rtl_chain.py) follows one image through the chain for the
latency and gives the interval of the overlapped stages.

LUT / FF / DSP figures are Yosys `synth_xilinx` counts of the units (docs/rtl.md,
`python -m pycompress.hw.rtl.synth_report --units`), memories by the block-RAM and
LUT-RAM rules the RTL states in its attributes. All of it is an ESTIMATE; Verilator
and Yosys measure the engine.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .budget import Objective, Resources, Shares
from .memory import bram18k
from .model import Layer, Schedule

SPACING = 10  # rtl/mac_lane.sv: two terms of one accumulator >= fp32_add LATENCY + 3 clocks apart
PIPELINE = 16  # rtl/mac_engine.sv DL: a term's fire to its sum written (issue, input read, multiply, add)
DRAIN_DELAY = 6  # a bunch's completion to its first word on m_axis (bunch FIFO, read, two mux registers, FIFO)
STREAM_WORD_BITS_RTL = (18, 36)  # lane stream word widths: 18 when a code fits, else 36 (RAMB18 aspect ratios)
LANE_MEM_BLOCK_BITS = 1024  # a lane's accumulators or output buffer above 32 words ask for block RAM (LUTs are scarcer)
TABLE_BLOCK_BITS = 4096  # a lane's weight codes above this many bits are a packed stream in block RAM


@dataclass(frozen=True)
class RtlCosts:
    """The one place the RTL figures live: Yosys synth_xilinx -family xc7 counts (docs/rtl.md "Engine v2")."""

    # slice LUTs (LUT1-6, inverters, shift registers, LUT RAM) of one unit, Yosys synth_xilinx
    lut_mac: int = 788  # mac_lane: fp32_mul_core (WB 8) + fp32_add + memory control; its LUT RAM and SRLs apart
    ff_mac: int = 560
    lut_wsrc_packed: int = 210  # lane_wsrc: stream unpacker, decoder, FIFOs
    lut_wsrc_plain: int = 60  # + its table's LUT ROM
    lut_hsrc: int = 380  # lane_hsrc: the record loop, canonical decode, symbol ROM, FIFOs
    ff_wsrc: int = 260
    lut_pixel: int = 60  # a pixel lane's address counters and padding check
    ff_pixel: int = 120
    lut_engine: int = 500  # loader (activation unpack), sequencer, the lanes' control, drain, fused ReLU
    ff_engine: int = 450
    lut_drain_lane: int = 15  # the output multiplexer, per lane
    # the pools (rtl/maxpool_unit.sv, avgpool_unit.sv, R = ceil(K / S) window rows open, accumulators in LUT RAM):
    # fitted to Yosys synth_xilinx counts (slice LUTs) of (6x24x24, 2, 2, 0) 587, (8x8x8, 3, 2, 1) 913 and
    # (64x112x112, 3, 2, 1) 958 max pools, (16x8x8, 2, 2, 0) 1,686 and (8x4x4, 3, 1, 1) 1,893 average pools
    lut_pool: int = 50  # the walk (pool_window)
    ff_pool: int = 310
    lut_maxpool: int = 211  # the look-ahead, the output mux and register
    lut_maxpool_slot: int = 294  # a window row's running maximum and its accumulator bank's compare and muxes
    lut_avgpool_units: int = 480 + 240 + 100  # fp32_add + fp32_mul_core + unpack
    lut_avgpool_ctl: int = 680  # the look-ahead, the add sequencer and its tags
    lut_avgpool_row: int = 104
    ff_avgpool: int = 660
    avgpool_cycles_per_input: int = 8  # rtl/avgpool_unit.sv: each add waits for the previous one (fp32_add LATENCY + 1)
    avgpool_cycles_per_window: int = 7  # and a window's last value for the multiply by 1/(K*K) and the output word
    # the stream units of residual networks and activations (rtl/stream_fork, add_unit, gap_unit, act_unit,
    # sync_fifo): ESTIMATES from their fp32 units' counts above plus control, until synth_report counts them
    lut_fork: int = 40
    lut_add: int = 480 + 120  # fp32_add + the credit, tlast ring and 16-word output FIFO
    lut_gap: int = 480 + 240 + 100 + 80  # fp32_add + fp32_mul_core + unpack + counters
    lut_act_clamp: int = 150  # two float compares and the output FIFO
    lut_act_mul: int = 240 + 100 + 150  # fp32_mul_core + unpack + compare and FIFOs
    lut_fifo: int = 60
    ff_stream: int = 200
    lutram_bits_per_lut: int = 48  # simple dual-port LUT RAM: RAM64M, 64 x 3 bits in 4 LUTs
    # the budget: 80% of the LUTs, DSPs and block RAM (the rest for the AXI wrapper, DMA and routing); FFs not budgeted
    shares: Shares = Shares(dsp=0.8, bram18k=0.8, lut=0.8, ff=None)
    # throughput first (the interval), then the latency; no target: grow while a step fits and helps
    objective: Objective = Objective("throughput")


RTL = RtlCosts()


@dataclass(frozen=True)
class EngineConfig:
    """How mac_engine computes one layer: PC channel lanes, PX pixel lanes, K bunches."""

    pc: int
    px: int
    k: int
    outputs: int  # output channels / features
    pixels: int  # outputs of one channel (1 for a linear layer)
    inner: bool = False  # the bunches inside the input-channel loop (input-ordered, bunches finish one by one)
    taps: int = 1  # kernel taps a pass of one input channel (KH * KW), for the INNER weight order

    @property
    def order_taps(self) -> int:
        """`layout.bunch_lane_order`'s taps: the weight order of the lanes."""
        return self.taps if self.inner else 0

    @property
    def lanes(self) -> int:
        return self.pc * self.px

    @property
    def groups(self) -> int:
        return self.outputs // self.pc

    @property
    def bunch(self) -> int:
        """B: channels a lane computes in one bunch."""
        return self.groups // self.k

    @property
    def pixel_slots(self) -> int:
        return -(-self.pixels // self.px)

    @property
    def steps(self) -> int:
        """Accumulators a lane keeps (B x pixel slots), and the terms of a (bunch, r) pass."""
        return self.bunch * self.pixel_slots

    @property
    def pass_cycles(self) -> int:
        return max(self.steps, SPACING)

    @property
    def acc_slots(self) -> int:
        """Accumulator words a lane keeps (mac_engine.sv ACC_SLOTS): one bunch, or with `inner` all K bunches,
        bunch k at k * 2^SA."""
        return self.k << max(1, (self.steps - 1).bit_length()) if self.inner else self.steps


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


PIXEL_EFFICIENCY = 0.9  # pixel lanes whose last slot leaves at most this share of the lanes idle


def pixel_lane_options(pixels: int, max_pixel_lanes: int = 64) -> list[int]:
    """PX values that keep at least PIXEL_EFFICIENCY of the pixel slots busy (every divisor of the pixels)."""
    return [px for px in range(1, min(pixels, max_pixel_lanes) + 1)
            if pixels / (px * -(-pixels // px)) >= PIXEL_EFFICIENCY]


def lane_options(layer: Layer, c: RtlCosts = RTL, max_pixel_lanes: int = 64) -> list[int]:
    """Lane counts P = PC x PX: PC divides the outputs, PX one of pixel_lane_options (up to 64)."""
    if not layer.mac:
        return []
    pxs = pixel_lane_options(layer.pixels, max_pixel_lanes)
    return sorted({pc * px for pc in _divisors(layer.outputs) for px in pxs})


def config(layer: Layer, lanes: int, progressive: bool) -> EngineConfig:
    """The split of `lanes` for a layer: an output-ordered one (progressive: its bunches feed the next layer as they
    finish) takes as few channel lanes as it can, for the most bunches; an input-ordered one as many as it can (fewer
    input-buffer copies). Bunches: the most whose pass still fills the accumulator spacing."""
    pxs = set(pixel_lane_options(layer.pixels, max(lanes, 1)))
    pcs = [pc for pc in _divisors(layer.outputs) if lanes % pc == 0 and lanes // pc in pxs]
    if not pcs:
        raise ValueError(f"{layer.name}: no split of {lanes} lanes")
    pc = min(pcs) if progressive else max(pcs)
    px = lanes // pc
    cfg = EngineConfig(pc, px, 1, layer.outputs, layer.pixels)
    g = cfg.groups  # K: the most bunches output-ordered, the fewest (above 1) inner
    ks = [k for k in _divisors(g) if (g // k) * cfg.pixel_slots >= SPACING]
    if progressive:
        cfg = EngineConfig(pc, px, max(ks) if ks else 1, layer.outputs, layer.pixels)
    else:  # inner bunches where the drain keeps up: a bunch's words leave within its last-channel passes, and
        # the output bank it reuses (bunch k - 2's) is drained before its last pass (no stall)
        taps = layer.kernel[0] * layer.kernel[1] if layer.op == "conv2d" else 1

        def drains(k: int) -> bool:
            pass_cycles, words = max((g // k) * cfg.pixel_slots, SPACING), pc * (g // k) * layer.pixels
            return taps * pass_cycles >= words and (2 * taps - 1) * pass_cycles >= PIPELINE + DRAIN_DELAY + words

        ks = [k for k in ks if k > 1 and drains(k)]
        if ks:
            cfg = EngineConfig(pc, px, min(ks), layer.outputs, layer.pixels, inner=True, taps=taps)
    return cfg


def compute_cycles(layer: Layer, cfg: EngineConfig) -> int:
    """One image's compute: K bunches x R passes x max(B x pixel slots, SPACING), plus the pipeline."""
    return cfg.k * layer.reduction * cfg.pass_cycles + PIPELINE


def schedule(layer: Layer, cfg: EngineConfig | None, c: RtlCosts = RTL) -> Schedule:
    """The engine's loops (bunches, reduction, groups of a bunch, pixel slots) and its cycles per image when
    load, compute and drain overlap (the most of the three); a pool streams (an average pool waits on its adds)."""
    if layer.mac and cfg is not None:
        cycles = max(compute_cycles(layer, cfg), layer.n_in, layer.n_out)
        return Schedule(("bunches", "reduction", "groups", "pixels"), (cfg.k, layer.reduction, cfg.bunch, cfg.pixel_slots),
                        1, PIPELINE, cycles, cfg.pc, cfg.pass_cycles, cfg.px)
    if layer.op in ("maxpool2d", "avgpool2d", "globalavgpool"):
        from .rtl_chain import pool_cycles

        cycles = pool_cycles(layer, c)
        return Schedule(("inputs",), (layer.n_in,), -(-cycles // layer.n_in), 2, cycles + 2, 0)
    return Schedule(("inputs",), (layer.n_in,), 1, 2, layer.n_in + 2, 0)


def weight_significand_bits(tables) -> int:
    """WB of fp32_mul_core: the weight's significand with its hidden bit (BF16 8, a stored mantissa of m' bits m'+1)."""
    stored = getattr(tables, "mantissa_bits", None)
    if getattr(tables, "scheme", "") != "expshare" or stored is None:
        stored = tables.format.mantissa_bits
    return int(stored) + 1


@dataclass(frozen=True)
class LaneStream:
    """What a MAC layer's lanes read: fixed-width codes (exponent sharing, codebook, raw) or entropy-coded
    records (huffman: a code of variable length, the sign, the mantissa rest), and their bits per weight."""

    huffman: bool
    bits: float  # code bits, or the mean record bits per weight

    @property
    def word_bits(self) -> int:
        """Stream word width: 18 when a code fits, else 36; records always 36 (one spans two words at most)."""
        return STREAM_WORD_BITS_RTL[1] if self.huffman or self.bits > STREAM_WORD_BITS_RTL[0] else STREAM_WORD_BITS_RTL[0]


def stream_word_bits(code_bits: int) -> int:
    return LaneStream(False, code_bits).word_bits


def packed(layer: Layer, cfg: EngineConfig, stream: LaneStream | int) -> bool:
    """A lane's codes go to a packed block-RAM stream above TABLE_BLOCK_BITS, else one code a LUT-ROM word;
    entropy-coded records are always a stream (small ones land in LUT ROM)."""
    s = stream if isinstance(stream, LaneStream) else LaneStream(False, stream)
    return s.huffman or layer.reduction * cfg.groups * s.bits > TABLE_BLOCK_BITS


def stream_words(layer: Layer, cfg: EngineConfig, stream: LaneStream | int) -> int:
    s = stream if isinstance(stream, LaneStream) else LaneStream(False, stream)
    return math.ceil(layer.reduction * cfg.groups * s.bits / s.word_bits)


def weight_bram18k(layer: Layer, cfg: EngineConfig, stream: LaneStream | int) -> int:
    """Block RAM of the lanes' weight streams (tables of at most TABLE_BLOCK_BITS: LUTs, none)."""
    s = stream if isinstance(stream, LaneStream) else LaneStream(False, stream)
    if not packed(layer, cfg, s) or layer.reduction * cfg.groups * s.bits <= TABLE_BLOCK_BITS:
        return 0
    return cfg.pc * bram18k(s.word_bits, stream_words(layer, cfg, s))


def _lane_mem(bits_width: int, depth: int, c: RtlCosts) -> tuple[int, int]:
    """(BRAM18K, LUT) of one lane memory by the rule mac_lane.sv applies."""
    if bits_width * depth > LANE_MEM_BLOCK_BITS:
        return bram18k(bits_width, depth), 0
    return 0, math.ceil(bits_width * depth / c.lutram_bits_per_lut)


def lane_memories(cfg: EngineConfig) -> tuple[int, int]:
    """Depths of a lane's accumulators and (two-bank) output buffer as mac_lane.sv declares them."""
    sa = max(1, (cfg.steps - 1).bit_length())
    return cfg.acc_slots, 2 << sa


def input_depth(layer: Layer) -> int:
    """Words of one input-buffer copy as mac_engine.sv declares it: two banks of 2^XA."""
    return 2 << max(1, (layer.n_in - 1).bit_length())


def resources(layer: Layer, cfg: EngineConfig | None, stream: LaneStream | int = 16, wb: int = 8,
              c: RtlCosts = RTL) -> Resources:
    """LUT/FF/DSP from the unit counts; BRAM18K from the memories by the RTL's own rules."""
    if not layer.mac or cfg is None:
        return _stream_unit(layer, c)
    lanes = cfg.lanes
    acc_d, obuf_d = lane_memories(cfg)
    acc_b, acc_l = _lane_mem(32, acc_d, c)
    ob_b, ob_l = _lane_mem(32, obuf_d, c)
    in_b, in_l = _lane_mem(36, input_depth(layer), c)
    s = stream if isinstance(stream, LaneStream) else LaneStream(False, stream)
    is_packed = packed(layer, cfg, s)
    w_bram = weight_bram18k(layer, cfg, s)
    w_lut = 0 if w_bram else cfg.pc * math.ceil(layer.reduction * cfg.groups * s.bits / 64)
    src = c.lut_hsrc if s.huffman else (c.lut_wsrc_packed if is_packed else c.lut_wsrc_plain)
    lut = (lanes * (c.lut_mac + c.lut_drain_lane + acc_l + ob_l) + cfg.pc * src + cfg.px * (c.lut_pixel + in_l)
           + c.lut_engine + w_lut)
    ff = lanes * c.ff_mac + cfg.pc * c.ff_wsrc + cfg.px * c.ff_pixel + c.ff_engine
    dsp = lanes * (1 if wb <= 17 else 2)
    bram = lanes * (acc_b + ob_b) + cfg.px * in_b + w_bram
    return Resources(lut, ff, dsp, bram)


def fifo_memory(depth: int, c: RtlCosts = RTL) -> tuple[int, int]:
    """(BRAM18K, LUT) of a sync_fifo of `depth` 33-bit words (data and tlast)."""
    return _lane_mem(33, depth, c)


def _stream_unit(layer: Layer, c: RtlCosts) -> Resources:
    """A pool, fork, add, FIFO, global pool or activation unit: LUT / FF / DSP / BRAM18K (ESTIMATE)."""
    if layer.op in ("maxpool2d", "avgpool2d"):
        rows, ow = -(-layer.kernel[0] // layer.stride), layer.out_shape[-1]
        if layer.op == "maxpool2d":  # R banks of OW words
            return Resources(c.lut_pool + c.lut_maxpool + rows * (c.lut_maxpool_slot + 32 * -(-ow // 64)), c.ff_pool, 0, 0)
        lut = c.lut_pool + c.lut_avgpool_units + c.lut_avgpool_ctl + rows * c.lut_avgpool_row + 32 * -(-rows * ow // 64)
        return Resources(lut, c.ff_pool + c.ff_avgpool, 1, 0)
    if layer.op == "fifo":
        bram, lut = fifo_memory(layer.depth, c)
        return Resources(c.lut_fifo + lut, c.ff_stream // 2, 0, bram)
    if layer.op == "activation" and layer.params[0] == "leaky_relu":
        return Resources(c.lut_act_mul, c.ff_stream, 1, 0)
    lut = {"fork": c.lut_fork, "add": c.lut_add, "globalavgpool": c.lut_gap, "activation": c.lut_act_clamp}[layer.op]
    return Resources(lut, c.ff_stream, 1 if layer.op == "globalavgpool" else 0, 0)
