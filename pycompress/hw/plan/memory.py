"""Memories of the accelerator and how a 7-series part maps them: block RAM aspect ratios, LUTRAM below a size.

Every memory is mapped with the best RAMB18 aspect ratio (16Kx1 .. 512x36) per
bank; a bank of at most BRAM_MIN_BITS bits is LUTRAM (the rule the RTL streamers
use), costing LUTs instead. Weight and bias tables are lane words cut into
RAMB18-shaped columns, folded where that fills a block (hw.lanewords.column_layout, the
rule the HLS writer renders), so a compressed table's BRAM falls with its bits. An
estimate, not synthesis.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from pycompress.hw.lanewords import Column, column_widths, in_bram, table_memory

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
class TableMemory:
    """A table in lane-word form (hw.lanewords): its RAMB18-width columns, each one ROM read once per cycle."""

    columns: tuple[Column, ...]

    @property
    def bram18k(self) -> int:
        return sum(c.bram18k for c in self.columns)

    @property
    def luts(self) -> int:
        return sum(c.luts for c in self.columns)

    @property
    def in_bram(self) -> bool:
        return bool(self.columns) and self.columns[0].in_bram


@dataclass(frozen=True)
class HuffmanShape:
    """An entropy-coded weight's memories per lane: code, sign and mantissa streams (its share of the tensor's
    bits, an estimate) and its own copy of the decode table and symbols."""

    code_bits: int  # of the whole tensor
    count: int
    rest_bits: int  # mantissa bits per weight beside the symbol
    window: int  # decode table: 2^window entries
    lut_bits: int
    nsym: int
    sym_bits: int

    def memory(self, lanes: int) -> TableMemory:
        n = math.ceil(self.count / lanes)
        mww = 16 if self.rest_bits <= 16 else 32
        words = [(16, math.ceil(self.code_bits / lanes / 16) + 2), (16, math.ceil(n / 16))]
        if self.rest_bits:
            words.append((mww, math.ceil(n * self.rest_bits / mww) + 1))
        words += [(self.lut_bits, 1 << self.window), (self.sym_bits, self.nsym)]
        cols = []
        for width, depth in words:
            big = in_bram(width, depth)
            cols += [Column(w, depth, big) for w in (column_widths(width, depth) if big else (width,))]
        return TableMemory(tuple(cols) * lanes)

    def decode_loads(self, lanes: int) -> tuple[bool, ...]:
        """The memories one code passes through in series: a lane's code stream, its decode table and symbols
        (True: block RAM)."""
        n = math.ceil(self.code_bits / lanes / 16) + 2
        return (in_bram(16, n), in_bram(self.lut_bits, 1 << self.window), in_bram(self.sym_bits, self.nsym))


@dataclass(frozen=True)
class WeightStream:
    """A MAC layer's weight (or bias) as fixed-width codes in loop order, `outputs` x `reduction` of them: scheme,
    the storage format they decode to, code width, and the ROM beside each lane's decoder (exponent ROM or
    codebook, in LUTs). `memory(lanes)` is its lane-word table (one word per group of `lanes` codes, RAMB18-width
    columns); an entropy-coded weight is priced by its streams and decode tables (`huffman`) instead."""

    scheme: str  # expshare | offset | cluster | raw | float | huffman
    format: str  # storage format the codes decode to
    code_bits: int
    count: int
    rom_bits: int = 0
    outputs: int = 0
    reduction: int = 1
    huffman: HuffmanShape | None = None

    @property
    def payload_bits(self) -> int:
        return self.code_bits * self.count

    def memory(self, lanes: int) -> TableMemory:
        if self.huffman is not None:
            return self.huffman.memory(lanes)
        return TableMemory(table_memory(self.code_bits, lanes, self.outputs // lanes, self.reduction))

    def decode_loads(self, lanes: int) -> tuple[bool, ...]:
        """The memories one code passes through in series (True: block RAM)."""
        if self.huffman is not None:
            return self.huffman.decode_loads(lanes)
        return (self.memory(lanes).in_bram,)
