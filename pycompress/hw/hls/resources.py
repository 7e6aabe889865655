"""Resource rules of the generated kernel: BRAM18K from 7-series aspect ratios, DSP from float operator bindings.

Block RAM: every memory is mapped with the best RAMB18 aspect ratio (16Kx1 ..
512x36) per bank; a bank of at most BRAM_MIN_BITS bits is LUTRAM (the rule the
RTL streamers use), costing LUTs instead. Weight and bias tables are lane words
cut into RAMB18-width columns (`pycompress.hw.lanewords`), so a compressed
table's BRAM falls with its bits.
DSP48E1: a full-DSP fmul takes 3, an fadd 2 (Vitis defaults on 7-series); the
field decoders and comparisons take none. LUT/FF figures are rough
per-operator constants. All of it is an estimate, not synthesis.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


RAMB18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
BRAM_MIN_BITS = 4096  # banks of at most this many bits go to LUTRAM (as rtl_images.BLOCK_MIN_BITS)
LUTRAM_BITS_PER_LUT = 64  # RAM64X1S
DSP_FMUL, DSP_FADD = 3, 2
OP_DSP = {"add": DSP_FADD, "globalavgpool": DSP_FADD + DSP_FMUL}  # elementwise layers: one operator each
# --weights ddr: the m_axi read adapter (a 64 x 64-bit burst buffer in one BRAM18K, address and handshake logic)
DDR_ADAPTER = {"bram18k": 1, "lut": 1200, "ff": 1500}
# rough LUT / FF per instance (Vitis float cores with full DSP use, 7-series, 100 MHz)
LUT_FF = {"fmul": (100, 150), "fadd": (250, 350), "fcmp": (70, 20), "fdiv": (800, 1400), "lane_decoder": (60, 60),
          "loop": (150, 200)}
# per operator the rule checker counts in a pipelined loop: (DSP48E1, LUT, FF), rough figures for Vitis cores on
# 7-series at 100 MHz; "fadd:fabric" is an adder bound to LUTs (BIND_OP impl=fabric), "idiv" a 32-bit integer
# divider, "shifter" a 32-bit barrel shifter, "imul" a small integer multiplier
OP_COSTS = {"fmul": (DSP_FMUL, 100, 150), "fadd": (DSP_FADD, 250, 350), "fadd:fabric": (0, 430, 560),
            "fcmp": (0, 70, 20), "fdiv": (0, 800, 1400), "idiv": (0, 1100, 1200), "shifter": (0, 100, 0),
            "imul": (1, 20, 40)}


def bram18k(width: int, depth: int) -> int:
    """RAMB18 count of one width x depth memory, best aspect ratio."""
    if width <= 0 or depth <= 0:
        return 0
    return min(math.ceil(width / w) * math.ceil(depth / d) for d, w in RAMB18_SHAPES)


@dataclass(frozen=True)
class Memory:
    """A memory split into `banks` equal banks (array partition)."""

    width: int
    depth: int
    banks: int = 1

    @property
    def bank_depth(self) -> int:
        return math.ceil(self.depth / self.banks)

    @property
    def in_bram(self) -> bool:
        return self.width * self.bank_depth > BRAM_MIN_BITS

    @property
    def bram18k(self) -> int:
        return self.banks * bram18k(self.width, self.bank_depth) if self.in_bram else 0

    @property
    def luts(self) -> int:
        return 0 if self.in_bram else self.banks * self.width * math.ceil(self.bank_depth / LUTRAM_BITS_PER_LUT)


def mac_dsp(units: int) -> int:
    """One float multiplier and one adder per output computed per cycle (channel lanes x pixel lanes)."""
    return units * (DSP_FMUL + DSP_FADD)


def pool_dsp(layer: dict) -> int:
    """An average pool's k*k adders and the multiplier by 1/(k*k); a max pool compares in LUTs."""
    return layer["k"] * layer["k"] * DSP_FADD + DSP_FMUL if layer["op"] == "avgpool2d" else 0


def mac_lut_ff(units: int, lanes: int, rom_bits: int, relu: bool = False) -> tuple[int, int]:
    """`units` multiply-add pairs (+ the fused ReLU's compare), `lanes` code decoders each with its own copy of
    the decoder ROM (exponent ROM or codebook, in LUTs)."""
    ops = [LUT_FF["fmul"], LUT_FF["fadd"]] + ([LUT_FF["fcmp"]] if relu else [])
    lut = units * sum(p[0] for p in ops) + lanes * (LUT_FF["lane_decoder"][0] + math.ceil(rom_bits / LUTRAM_BITS_PER_LUT))
    ff = units * sum(p[1] for p in ops) + lanes * LUT_FF["lane_decoder"][1] + LUT_FF["loop"][1]
    return lut + LUT_FF["loop"][0], ff


def mux_luts(bits: int, ways: int) -> int:
    """A `ways`-to-1 multiplexer of `bits` bits: a LUT6 selects among four inputs."""
    return 0 if ways <= 1 else bits * math.ceil((ways - 1) / 3)


def pool_lut_ff(layer: dict) -> tuple[int, int]:
    window = layer["k"] * layer["k"]
    ops = [LUT_FF["fcmp"]] * (window - 1) if layer["op"] == "maxpool2d" else [LUT_FF["fadd"]] * window + [LUT_FF["fmul"]]
    return sum(o[0] for o in ops) + LUT_FF["loop"][0], sum(o[1] for o in ops) + LUT_FF["loop"][1]
