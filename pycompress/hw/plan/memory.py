"""Memories of the accelerator and how a 7-series part maps them: block RAM aspect ratios, LUTRAM below a size.

Every memory is mapped with the best RAMB18 aspect ratio (16Kx1 .. 512x36) per
bank; a bank of at most BRAM_MIN_BITS bits is LUTRAM (the rule the RTL streamers
use), costing LUTs instead. Weight streams are 36-bit words in `window_words`
cyclic banks, so a compressed stream's BRAM falls with its bits. An estimate, not
synthesis.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from pycompress.hw.layout import STREAM_WORD_BITS, window_words

RAMB18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
BRAM_MIN_BITS = 4096  # banks of at most this many bits go to LUTRAM (as the RTL images' BLOCK_MIN_BITS)
LUTRAM_BITS_PER_LUT = 64  # RAM64X1S


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


@dataclass(frozen=True)
class WeightStream:
    """A MAC layer's weights as fixed-width codes (scheme, format they decode to, code width, count) and the
    bits of the ROM beside its decoders (exponent ROM or codebook, in LUTs, one per lane)."""

    scheme: str  # expshare | cluster | raw | float
    format: str  # storage format the codes decode to
    code_bits: int
    count: int
    rom_bits: int = 0

    @property
    def payload_bits(self) -> int:
        return self.code_bits * self.count

    def memory(self, lanes: int) -> Memory:
        """The stream as 36-bit words in the cyclic banks a group of `lanes` codes is read from."""
        banks = window_words(self.code_bits, lanes)
        words = math.ceil(self.payload_bits / STREAM_WORD_BITS) + banks - 1
        return Memory(STREAM_WORD_BITS, words, banks)
