"""Weights laid out for constant banks: one memory word per group of P codes, cut into block-RAM columns.

A layer with P lanes consumes P codes per cycle (one per lane), word j = r*G + g of its table in
loop order (reduction r outermost, group g, lane p: element (p*G + g)*R + r, `layout.lane_order`).
Lane p's code sits at bits [p*b, (p+1)*b) of the word, so every field offset is a compile-time
constant and one read per cycle serves every lane. The word is stored as columns (`column_layout`,
the one memory rule the estimate and the generated HLS both follow): a column holds `width` bits of
every word; folded `fold` times, words j, j+R, .., j+(fold-1)R (R = ceil(depth/fold)) share one
memory row of width x fold bits at R rows, row j - sR, field s, where s counts the constant
thresholds R, 2R, .. that j has passed (compare and subtract, no division). Each column's memory
takes one of the shapes a RAMB18 offers (36, 18, 9, 4, 2, 1 bits at 512 .. 16K rows), and the
layout is the one with the fewest RAMB18, then the fewest select LUTs, then the fewest columns
(e.g. 78 bits at 5,120 words: 36 + 36 + 6-bit folded 3 times into 1,707 x 18 = 10 + 10 + 2 = 22
RAMB18, where 36 + 36 + 4 + 2 take 23). Folding fills a RAMB18 whose depth the table's depth
leaves half empty. A table of at most 4 Kb goes to LUTRAM (32-bit columns, no folding). Each
column is one ROM read once per cycle.
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
RAMB18_ROWS = {w: d for d, w in RAMB18_SHAPES}
FOLD_MAX = 8  # at most 8 words per memory row: a select of at most 8 ways (3 LUT levels); 16 finds no fewer RAMB18 on LeNet
LUTRAM_MAX_BITS = 4096  # a memory of at most this many bits is LUTRAM (as the RTL streamers do)
LUTRAM_BITS_PER_LUT = 64  # RAM64X1S


@dataclass(frozen=True)
class Column:
    """`width` bits of each of `depth` words; `fold` words per memory row (see the module docstring)."""

    width: int
    depth: int
    in_bram: bool = True
    fold: int = 1

    @property
    def rows(self) -> int:
        return math.ceil(self.depth / self.fold)

    @property
    def row_bits(self) -> int:
        return self.width * self.fold

    @property
    def bram18k(self) -> int:
        if not self.in_bram:
            return 0
        shape = min(w for w in COLUMN_WIDTHS if w >= self.row_bits)
        return math.ceil(self.rows / RAMB18_ROWS[shape])

    @property
    def luts(self) -> int:
        """LUTRAM bits (RAM64X1S); a folded block-RAM column's select: the fold-1 threshold compares and the
        fold-way muxes of its row address and field (a LUT6 selects among four inputs). A rough figure."""
        if not self.in_bram:
            return self.width * math.ceil(self.depth / LUTRAM_BITS_PER_LUT)
        if self.fold == 1:
            return 0
        abits = max(1, (self.depth - 1).bit_length())
        return (self.fold - 1) * math.ceil(abits / 2) + (abits + self.width) * math.ceil((self.fold - 1) / 3)

    @property
    def starts(self) -> tuple[int, ...]:
        """The words at which rows s = 1 .. fold-1 begin (s * rows)."""
        return tuple(s * self.rows for s in range(1, self.fold))


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


def _column_options(depth: int, fold_max: int) -> dict[int, Column]:
    """Per column width, its cheapest (RAMB18, select LUTs) block-RAM column at this depth."""
    out: dict[int, Column] = {}
    for shape in COLUMN_WIDTHS:
        for fold in range(1, min(fold_max, depth) + 1):
            c = Column(shape // fold, depth, True, fold)
            if c.width >= 1 and (c.width not in out or (c.bram18k, c.luts) < (out[c.width].bram18k, out[c.width].luts)):
                out[c.width] = c
    return out


@lru_cache(maxsize=4096)
def column_layout(word_bits: int, depth: int, fold_max: int = FOLD_MAX) -> tuple[Column, ...]:
    """The columns (widest first) covering `word_bits` at `depth` words with the fewest RAMB18, then the fewest
    select LUTs, then the fewest columns (a few pad bits are allowed when they save a block); 32-bit columns for a
    LUTRAM table. The memory rule of the lane-word tables: the estimate counts these, the HLS writer renders them."""
    if word_bits <= 0:
        return ()
    if not in_bram(word_bits, depth):  # LUTRAM costs the same however it is cut: 32-bit columns (C types)
        widths = (32,) * (word_bits // 32) + ((word_bits % 32,) if word_bits % 32 else ())
        return tuple(Column(w, depth, False) for w in widths)
    options = _column_options(depth, fold_max)
    top = word_bits + max(options) - 1
    inf = (math.inf, math.inf, math.inf)
    best: list = [inf] * (top + 1)
    choice: list = [None] * (top + 1)
    best[0] = (0, 0, 0)
    for x in range(1, top + 1):
        for w, c in options.items():
            if w <= x and best[x - w] != inf:
                b = best[x - w]
                cand = (b[0] + c.bram18k, b[1] + c.luts, b[2] + 1)
                if cand < best[x]:
                    best[x], choice[x] = cand, c
    x = min(range(word_bits, top + 1), key=lambda k: best[k])
    cols = []
    while x:
        cols.append(choice[x])
        x -= choice[x].width
    return tuple(sorted(cols, key=lambda c: (-c.width, c.fold)))


def column_widths(word_bits: int, depth: int) -> tuple[int, ...]:
    """Unfolded column widths (widest first) with the fewest RAMB18: the entropy-coded streams, read at a
    data-dependent pace, are not folded."""
    return tuple(c.width for c in column_layout(word_bits, depth, 1))


def fold_rows(data: np.ndarray, column: Column) -> np.ndarray:
    """A column's words (uint64, one per word) as its memory rows: word j = s*rows + a at bits [s*width, ..) of
    row a."""
    rows = np.zeros(column.rows, np.uint64)
    for s in range(column.fold):
        part = data[s * column.rows:(s + 1) * column.rows]
        rows[:part.size] |= part << np.uint64(s * column.width)
    return rows


def unfold_rows(rows: np.ndarray, column: Column) -> np.ndarray:
    """The inverse of `fold_rows` (for tests)."""
    mask = np.uint64((1 << column.width) - 1)
    parts = [(np.asarray(rows, np.uint64) >> np.uint64(s * column.width)) & mask for s in range(column.fold)]
    return np.concatenate(parts)[:column.depth]


@dataclass(frozen=True, eq=False)
class LaneWords:
    """One table in lane-word form: `columns[k]` holds bits [offsets[k], offsets[k] + widths[k]) of every word."""

    code_bits: int
    lanes: int
    groups: int
    reduction: int
    widths: tuple[int, ...]
    data: tuple[np.ndarray, ...]  # per column, uint64 values < 2**width, one per word (before folding)
    folds: tuple[int, ...] = ()  # per column, words per memory row (empty: all 1)

    @property
    def depth(self) -> int:
        return self.groups * self.reduction

    @property
    def columns(self) -> tuple[Column, ...]:
        bram = in_bram(sum(self.widths), self.depth)
        folds = self.folds or (1,) * len(self.widths)
        return tuple(Column(w, self.depth, bram, k) for w, k in zip(self.widths, folds))

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
    return column_layout(code_bits * lanes, groups * reduction)


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
    layout = column_layout(code_bits * lanes, groups * reduction)
    widths = tuple(c.width for c in layout)
    data = [np.zeros(groups * reduction, np.uint64) for _ in widths]
    for p, pieces in enumerate(lane_pieces(code_bits, lanes, widths)):
        for piece in pieces:
            field = (words[:, p] >> np.uint64(piece.code_shift)) & np.uint64(piece.mask)
            data[piece.column] |= field << np.uint64(piece.column_shift)
    return LaneWords(code_bits, lanes, groups, reduction, widths, tuple(data), tuple(c.fold for c in layout))


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
