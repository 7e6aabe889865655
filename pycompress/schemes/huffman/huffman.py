"""Length-limited canonical Huffman codes: lengths by package-merge, codes and decode tables from lengths.

Only code lengths are ever stored; the canonical assignment (shorter codes first,
ties by symbol) rebuilds the codes, and a 2^L table maps any L-bit window of the
stream to (symbol, length), which is what both the software and the hardware
decoders index. A single used symbol gets length 0: it costs no stream bits.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycompress.core.errors import PycompressError

DEFAULT_MAX_LEN = 12
MAX_LEN_LIMIT = 15  # lengths are stored in 4 bits


def package_merge(counts: np.ndarray, max_len: int = DEFAULT_MAX_LEN) -> np.ndarray:
    """Optimal code lengths (<= max_len) for positive `counts`, by the package-merge algorithm.

    Level lists are sorted merges of the leaves and the pairs ("packages") of the deeper
    level; taking the first 2n-2 items of the shallowest list and following packages down
    gives each symbol one unit of length per level it is taken at.
    """
    w = np.asarray(counts, dtype=np.int64).reshape(-1)
    n = w.size
    if n == 0:
        return np.zeros(0, np.uint8)
    if (w <= 0).any():
        raise PycompressError("package-merge needs positive counts")
    if n == 1:
        return np.zeros(1, np.uint8)
    if not 1 <= max_len <= MAX_LEN_LIMIT or n > (1 << max_len):
        raise PycompressError(f"{n} symbols cannot have codes of at most {max_len} bits")
    order = np.argsort(w, kind="stable")
    leaves = w[order]
    levels: list[np.ndarray] = []  # per level (deepest first): is-leaf flag of each item, in merged order
    weights = leaves
    levels.append(np.ones(n, bool))
    for _ in range(max_len - 1):
        packages = weights[0:weights.size // 2 * 2:2] + weights[1:weights.size // 2 * 2:2]
        merged = np.concatenate([leaves, packages])
        flag = np.concatenate([np.ones(n, bool), np.zeros(packages.size, bool)])
        idx = np.argsort(merged, kind="stable")  # leaves first on ties
        weights = merged[idx]
        levels.append(flag[idx])
    lengths = np.zeros(n, np.int64)
    take = 2 * n - 2
    for flags in reversed(levels):  # shallowest level first
        chosen = flags[:take]
        leaves_taken = int(chosen.sum())
        lengths[:leaves_taken] += 1
        take = 2 * (take - leaves_taken)
    out = np.zeros(n, np.uint8)
    out[order] = lengths
    return out


def kraft_units(lengths: np.ndarray, max_len: int) -> int:
    """Sum of 2^(max_len - l): equals 2^max_len exactly for a complete code."""
    l = np.asarray(lengths, dtype=np.int64)
    return int(np.sum(np.left_shift(1, max_len - l))) if l.size else 0


def check_lengths(lengths: np.ndarray, max_len: int) -> None:
    """Lengths form a complete prefix code within max_len (or the one-symbol code of length 0)."""
    l = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if not 1 <= max_len <= MAX_LEN_LIMIT:
        raise PycompressError(f"maximum code length {max_len} outside 1..{MAX_LEN_LIMIT}")
    if l.size == 0:
        return
    if l.size == 1:
        if int(l[0]) != 0:
            raise PycompressError(f"a one-symbol code has length 0, not {int(l[0])}")
        return
    if l.min() < 1 or l.max() > max_len:
        raise PycompressError(f"code lengths {int(l.min())}..{int(l.max())} outside 1..{max_len}")
    if kraft_units(l, max_len) != 1 << max_len:
        raise PycompressError("code lengths violate the Kraft equality (not a complete prefix code)")


def canonical_codes(lengths: np.ndarray) -> np.ndarray:
    """Canonical code words (right-aligned integers): by length, then by symbol."""
    l = np.asarray(lengths, dtype=np.int64).reshape(-1)
    codes = np.zeros(l.size, np.uint32)
    code, prev = 0, 0
    for sym in np.lexsort((np.arange(l.size), l)):
        length = int(l[sym])
        if length == 0:
            continue
        code <<= length - prev
        codes[sym] = code
        code += 1
        prev = length
    return codes


@dataclass(frozen=True, eq=False)
class DecodeTable:
    """2^L entries: the symbol and code length of every L-bit window (MSB = next stream bit)."""

    max_len: int
    symbol: np.ndarray  # uint16
    length: np.ndarray  # uint8


def decode_table(lengths: np.ndarray, max_len: int) -> DecodeTable:
    """Vectorised: a complete canonical code fills the table in (length, symbol) order, each code word
    covering 2^(max_len - length) consecutive windows, so the table is that order repeated by span."""
    check_lengths(lengths, max_len)
    l = np.asarray(lengths, dtype=np.int64).reshape(-1)
    size = 1 << max_len
    if l.size <= 1:  # the one-symbol code: every window decodes symbol 0 with length 0
        return DecodeTable(max_len, np.zeros(size, np.uint16), np.zeros(size, np.uint8))
    order = np.lexsort((np.arange(l.size), l))
    spans = np.left_shift(1, max_len - l[order])
    return DecodeTable(max_len, np.repeat(order.astype(np.uint16), spans), np.repeat(l[order].astype(np.uint8), spans))
