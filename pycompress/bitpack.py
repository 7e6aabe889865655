"""Vectorised fixed-width bit packing (MSB first), the stored form of every field.

Value k occupies bits [k*w, (k+1)*w) of the stream, most significant bit first,
and the last byte is zero-padded. Widths up to 8 take a fast path that packs
eight values into `w` bytes through one uint64 word; wider fields go through
a bit matrix. Both are whole-array numpy operations, never per-value loops.
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
    """Bit-matrix packing for widths above 8; CHUNK is a multiple of 8 so chunks join on byte edges."""
    n = v.size
    container = 8 if width > 32 else (4 if width > 16 else 2)
    as_bytes = v.astype(f">u{container}").view(np.uint8).reshape(n, container)
    bits = np.unpackbits(as_bytes, axis=1)[:, container * 8 - width:]
    return np.packbits(bits.reshape(-1))


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
    padded = np.concatenate([data[:need], np.zeros(8, np.uint8)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 8)
    out = np.empty(n, dtype)
    for i in range(0, n, CHUNK):
        out[i:i + CHUNK] = _unpack_wide(windows, width, i, min(n, i + CHUNK))
    return out


def _unpack_wide(windows: np.ndarray, width: int, lo: int, hi: int) -> np.ndarray:
    """Values lo..hi-1: gather the 8 bytes holding each value, shift it out of a big-endian word."""
    start = np.arange(lo, hi, dtype=np.int64) * width
    words = windows[start >> 3].view(">u8").reshape(-1).astype(np.uint64)
    shift = (start & 7).astype(np.uint64)
    if width <= 57:  # value fits in the 64-bit window after the sub-byte shift
        return (words << shift) >> _U64(64 - width)
    # widths 58..64 may straddle nine bytes: take the ninth byte's top bits too
    extra = windows[(start >> 3) + 1][:, 7].astype(np.uint64)
    hi_part = (words << shift) >> _U64(64 - width)
    lo_part = np.where(shift + _U64(width) > 64, extra >> (_U64(72) - shift - _U64(width)), _U64(0))
    return np.where(shift + _U64(width) > 64, hi_part | lo_part, hi_part)
