"""Vectorised fixed-width bit packing (MSB first), the stored form of every field.

Value k occupies bits [k*w, (k+1)*w) of the stream, most significant bit first,
and the last byte is zero-padded. Eight values always fill exactly `w` bytes:
widths up to 8 go through one uint64 word per group of eight (byte lanes),
wider ones through ceil(w/8) big-endian words with fixed shifts. Both are
whole-array numpy operations, never per-value loops.
"""
from __future__ import annotations

import numpy as np

_U64 = np.uint64
CHUNK = 1 << 20  # values per slice on the wide paths: bounds temporary memory


def packed_nbytes(n: int, width: int) -> int:
    return (n * width + 7) // 8


def pack(values: np.ndarray, width: int) -> np.ndarray:
    """Pack unsigned integers (each < 2**width) into a uint8 array."""
    if not 1 <= width <= 64:
        raise ValueError(f"field width {width} outside 1..64")
    v = np.ascontiguousarray(values).reshape(-1)
    n = v.size
    nbytes = packed_nbytes(n, width)
    if n == 0:
        return np.zeros(0, np.uint8)
    if width == 1:
        return np.packbits(v.astype(np.uint8, copy=False))
    if width <= 8:
        groups = -(-n // 8)
        padded = np.zeros(groups * 8, np.uint8)
        padded[:n] = v
        lanes = padded.view("<u8")  # lane j of each word = byte j = value 8g+j
        word = np.zeros(groups, np.uint64)
        for j in range(8):  # eight whole-array operations, independent of n
            word |= ((lanes >> _U64(8 * j)) & _U64(0xFF)) << _U64(width * (7 - j) + 64 - 8 * width)
        out = word.astype(">u8").view(np.uint8).reshape(groups, 8)[:, :width]
        return np.ascontiguousarray(out).reshape(-1)[:nbytes]
    return np.concatenate([_pack_wide(v[i:i + CHUNK], width) for i in range(0, n, CHUNK)])


def _pack_wide(v: np.ndarray, width: int) -> np.ndarray:
    """Eight values -> `width` bytes through ceil(width/8) big-endian uint64 words per group: a fixed
    set of shifts per (word, value) pair, each a whole-array operation. CHUNK is a multiple of 8,
    so chunks join on byte edges."""
    n = v.size
    groups = -(-n // 8)
    padded = np.zeros(groups * 8, np.uint64)
    padded[:n] = v
    cols = padded.reshape(groups, 8)
    nwords = -(-width // 8)
    words = np.zeros((groups, nwords), np.uint64)
    for q in range(nwords):  # word q holds stream bits [64q, 64q + 64) of the group
        for j in range(8):
            lo, hi = j * width, (j + 1) * width  # value j's bits in the group's stream
            if hi <= 64 * q or lo >= 64 * (q + 1):
                continue
            shift = 64 * (q + 1) - hi  # left shift placing value j's last bit in the word
            if shift >= 0:
                words[:, q] |= cols[:, j] << _U64(shift)
            else:
                words[:, q] |= cols[:, j] >> _U64(-shift)
    out = words.astype(">u8").view(np.uint8).reshape(groups, 8 * nwords)[:, :width]
    return np.ascontiguousarray(out).reshape(-1)[: (n * width + 7) // 8]


def unpack(data: np.ndarray, width: int, n: int, dtype: np.dtype | type = np.uint64) -> np.ndarray:
    """Inverse of `pack`: read `n` values of `width` bits from `data`."""
    if not 1 <= width <= 64:
        raise ValueError(f"field width {width} outside 1..64")
    data = np.ascontiguousarray(data, dtype=np.uint8).reshape(-1)
    need = packed_nbytes(n, width)
    if data.size < need:
        raise ValueError(f"packed field holds {data.size} bytes, {need} needed for {n} values of {width} bits")
    if n == 0:
        return np.zeros(0, dtype)
    if width == 1:
        return np.unpackbits(data[:need], count=n).astype(dtype)
    if width <= 8:
        groups = -(-n // 8)
        flat = np.zeros(groups * width, np.uint8)
        flat[:need] = data[:need]
        buf = np.zeros((groups, 8), np.uint8)
        buf[:, :width] = flat.reshape(groups, width)
        word = buf.view(">u8").reshape(groups).astype(np.uint64)
        lanes = np.zeros(groups, np.uint64)
        mask = _U64((1 << width) - 1)
        for j in range(8):
            lanes |= ((word >> _U64(width * (7 - j) + 64 - 8 * width)) & mask) << _U64(8 * j)
        return lanes.view(np.uint8)[:n].astype(dtype)
    out = np.empty(n, dtype)
    step = CHUNK * width // 8  # bytes per chunk of CHUNK values
    for k, i in enumerate(range(0, n, CHUNK)):
        m = min(CHUNK, n - i)
        out[i:i + m] = _unpack_wide(data[k * step:k * step + packed_nbytes(m, width)], width, m)
    return out


def _unpack_wide(data: np.ndarray, width: int, n: int) -> np.ndarray:
    """Inverse of `_pack_wide`: each value gathered from the one or two words it spans."""
    groups = -(-n // 8)
    nwords = -(-width // 8)
    flat = np.zeros(groups * width, np.uint8)
    need = (n * width + 7) // 8
    flat[:need] = data[:need]
    buf = np.zeros((groups, 8 * nwords), np.uint8)
    buf[:, :width] = flat.reshape(groups, width)
    words = buf.view(">u8").astype(np.uint64)  # (groups, nwords)
    mask = _U64((1 << width) - 1) if width < 64 else _U64(0xFFFFFFFFFFFFFFFF)
    out = np.zeros((groups, 8), np.uint64)
    for j in range(8):
        lo, hi = j * width, (j + 1) * width
        for q in range(lo // 64, (hi - 1) // 64 + 1):
            shift = 64 * (q + 1) - hi
            if shift >= 0:
                out[:, j] |= words[:, q] >> _U64(shift)
            else:
                out[:, j] |= words[:, q] << _U64(-shift)
        out[:, j] &= mask
    return out.reshape(-1)[:n]
