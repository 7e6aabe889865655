"""Weights laid out for constant banks: one memory word per group of P codes, cut into block-RAM columns.

A layer with P lanes consumes P codes per cycle (one per lane), word j = r*G + g of its table in
loop order (reduction r outermost, group g, lane p: element (p*G + g)*R + r, `layout.lane_order`).
Lane p's code sits at bits [p*b, (p+1)*b) of the word, so every field offset is a compile-time
constant and one read per cycle serves every lane. The word is stored as columns of the widths a
RAMB18 offers (36, 18, 9, 4, 2, 1 bits at 512 .. 16K words), chosen to need the fewest RAMB18
for the table's depth (e.g. 52 bits at 7,680 words: 36+9+4+2+1 = 23 RAMB18, where 2 x 36 would
take 30); a column of at most 4 Kb goes to LUTRAM. Each column is one ROM read once per cycle.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pycompress.core.errors import PycompressError
from .layout import lane_order

RAMB18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))  # (depth, width)
COLUMN_WIDTHS = tuple(w for _, w in reversed(RAMB18_SHAPES))  # 36, 18, 9, 4, 2, 1
LUTRAM_MAX_BITS = 4096  # a memory of at most this many bits is LUTRAM (as the RTL streamers do)
LUTRAM_BITS_PER_LUT = 64  # RAM64X1S


@dataclass(frozen=True)
class Column:
    width: int
    depth: int
    in_bram: bool = True

    @property
    def bram18k(self) -> int:
        if not self.in_bram:
            return 0
        rows = dict((w, d) for d, w in RAMB18_SHAPES)[self.width]
        return math.ceil(self.depth / rows)

    @property
    def luts(self) -> int:
        return 0 if self.in_bram else self.width * math.ceil(self.depth / LUTRAM_BITS_PER_LUT)


@dataclass(frozen=True)
class Piece:
    """Bits [column_shift, column_shift + width) of column `column` are bits [code_shift, ..) of a lane's code."""

    column: int
    column_shift: int
    width: int
    code_shift: int

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1


def in_bram(word_bits: int, depth: int) -> bool:
    """Tables above 4 Kb are block RAM, the rest LUTRAM (decided per table, not per column)."""
    return word_bits * depth > LUTRAM_MAX_BITS


@lru_cache(maxsize=4096)
def column_widths(word_bits: int, depth: int) -> tuple[int, ...]:
    """Column widths (widest first) covering `word_bits` at `depth` words with the fewest RAMB18, then the
    fewest columns (a few pad bits are allowed when they save a block); one column for a LUTRAM table."""
    if word_bits <= 0:
        return ()
    if not in_bram(word_bits, depth):  # LUTRAM costs the same however it is cut: 32-bit columns (C types)
        return (32,) * (word_bits // 32) + ((word_bits % 32,) if word_bits % 32 else ())
    top = word_bits + max(COLUMN_WIDTHS) - 1
    inf = (math.inf, math.inf)
    best: list = [inf] * (top + 1)
    choice = [0] * (top + 1)
    best[0] = (0, 0)
    for x in range(1, top + 1):
        for w in COLUMN_WIDTHS:
            if w <= x and best[x - w] != inf:
                b = best[x - w]
                cand = (b[0] + Column(w, depth).bram18k, b[1] + 1)
                if cand < best[x]:
                    best[x], choice[x] = cand, w
    x = min(range(word_bits, top + 1), key=lambda k: best[k])
    widths = []
    while x:
        widths.append(choice[x])
        x -= choice[x]
    return tuple(sorted(widths, reverse=True))


@dataclass(frozen=True, eq=False)
class LaneWords:
    """One table in lane-word form: `columns[k]` holds bits [offsets[k], offsets[k] + widths[k]) of every word."""

    code_bits: int
    lanes: int
    groups: int
    reduction: int
    widths: tuple[int, ...]
    data: tuple[np.ndarray, ...]  # per column, uint64 values < 2**width, one per word

    @property
    def depth(self) -> int:
        return self.groups * self.reduction

    @property
    def columns(self) -> tuple[Column, ...]:
        bram = in_bram(sum(self.widths), self.depth)
        return tuple(Column(w, self.depth, bram) for w in self.widths)

    @property
    def offsets(self) -> tuple[int, ...]:
        return tuple(int(x) for x in np.cumsum((0,) + self.widths[:-1]))

    @property
    def bram18k(self) -> int:
        return sum(c.bram18k for c in self.columns)

    @property
    def luts(self) -> int:
        return sum(c.luts for c in self.columns)

    def pieces(self) -> tuple[tuple[Piece, ...], ...]:
        return lane_pieces(self.code_bits, self.lanes, self.widths)


def lane_pieces(code_bits: int, lanes: int, widths: tuple[int, ...]) -> tuple[tuple[Piece, ...], ...]:
    """Per lane, the column pieces its code is made of (constant shifts and masks)."""
    offsets = np.cumsum((0,) + tuple(widths))
    out = []
    for p in range(lanes):
        lo, hi = p * code_bits, (p + 1) * code_bits
        pieces = []
        for k, w in enumerate(widths):
            a, b = max(lo, int(offsets[k])), min(hi, int(offsets[k]) + w)
            if a < b:
                pieces.append(Piece(k, a - int(offsets[k]), b - a, a - lo))
        out.append(tuple(pieces))
    return tuple(out)


@lru_cache(maxsize=8192)
def table_memory(code_bits: int, lanes: int, groups: int, reduction: int) -> tuple[Column, ...]:
    """The columns a lane-word table of these dimensions takes (what the estimate counts, without packing)."""
    depth = groups * reduction
    widths = column_widths(code_bits * lanes, depth)
    return tuple(Column(w, depth, in_bram(sum(widths), depth)) for w in widths)


def pack_lane_words(codes: np.ndarray, code_bits: int, outputs: int, reduction: int, lanes: int) -> LaneWords:
    """`codes` (one per element of an (outputs, reduction) tensor, C order) as a lane-word table."""
    if not 1 <= code_bits <= 32:
        raise PycompressError(f"code width {code_bits} outside 1..32")
    codes = np.asarray(codes, dtype=np.uint64).reshape(-1)
    if codes.size != outputs * reduction:
        raise PycompressError(f"{codes.size} codes for a {outputs} x {reduction} table")
    if codes.size and int(codes.max()) >> code_bits:
        raise PycompressError(f"code {int(codes.max())} does not fit {code_bits} bits")
    groups = outputs // lanes
    words = codes[lane_order(outputs, reduction, lanes)].reshape(reduction * groups, lanes)
    widths = column_widths(code_bits * lanes, groups * reduction)
    data = [np.zeros(groups * reduction, np.uint64) for _ in widths]
    for p, pieces in enumerate(lane_pieces(code_bits, lanes, widths)):
        for piece in pieces:
            field = (words[:, p] >> np.uint64(piece.code_shift)) & np.uint64(piece.mask)
            data[piece.column] |= field << np.uint64(piece.column_shift)
    return LaneWords(code_bits, lanes, groups, reduction, widths, tuple(data))


def unpack_lane_words(t: LaneWords) -> np.ndarray:
    """The codes back in C order of the (outputs, reduction) tensor (the inverse, for tests)."""
    out = np.zeros((t.depth, t.lanes), np.uint64)
    for p, pieces in enumerate(t.pieces()):
        for piece in pieces:
            field = (t.data[piece.column] >> np.uint64(piece.column_shift)) & np.uint64(piece.mask)
            out[:, p] |= field << np.uint64(piece.code_shift)
    flat = np.zeros(t.depth * t.lanes, np.uint64)
    flat[lane_order(t.groups * t.lanes, t.reduction, t.lanes)] = out.reshape(-1)
    return flat
