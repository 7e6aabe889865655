"""Compiled loops of the entropy-coded codebook scheme (numba): writing and walking its code stream.

A Huffman stream is sequential, so these are plain scalar loops that numba compiles once
(cached on disk), as in `huffman/kernels.py`; the symbol stream itself is built with numpy.
"""
from __future__ import annotations

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - the pinned toolchain has numba
    def njit(*args, **kwargs):
        if args and callable(args[0]):
            return args[0]
        return lambda f: f

# walk() results below zero
ENDS_EARLY, BAD_CODE, RUN_PAST_END = -1, -2, -3
READ_AHEAD = 3  # zero bytes the walker may read past the stream (a window of <= 15 bits from any bit)


@njit(cache=True, nogil=True)
def write_codes(symbols, codes, lengths, out):
    """Concatenate the code of every symbol, MSB first, into `out` (zeroed, exactly sized); returns the bit count."""
    acc = np.uint64(0)
    nacc = 0
    pos = 0
    total = 0
    for i in range(symbols.size):
        s = symbols[i]
        length = int(lengths[s])
        acc = (acc << np.uint64(length)) | np.uint64(codes[s])
        nacc += length
        total += length
        while nacc >= 8:
            nacc -= 8
            out[pos] = np.uint8((acc >> np.uint64(nacc)) & np.uint64(0xFF))
            pos += 1
        acc &= (np.uint64(1) << np.uint64(nacc)) - np.uint64(1)
    if nacc:
        out[pos] = np.uint8((acc << np.uint64(8 - nacc)) & np.uint64(0xFF))
    return total


@njit(cache=True, nogil=True)
def walk(code, code_bits, table_symbol, table_length, window, k, run_index, numel, out, write):
    """Decode `numel` codebook indices from `code` (READ_AHEAD zero bytes appended) with the 2^window table.

    Symbol s < k is index s; s >= k is a run of s - k + 1 copies of `run_index`. Returns the bit
    position after the last code, or ENDS_EARLY (the stream ends before numel indices), BAD_CODE
    (a window no code word covers) or RUN_PAST_END (a run beyond the tensor's last weight)."""
    pos = 0
    n = 0
    mask = (1 << window) - 1
    while n < numel:
        if pos >= code_bits:
            return ENDS_EARLY
        byte = pos >> 3
        word = (int(code[byte]) << 16) | (int(code[byte + 1]) << 8) | int(code[byte + 2])
        win = (word >> (24 - (pos & 7) - window)) & mask
        length = int(table_length[win])
        if length == 0:
            return BAD_CODE
        pos += length
        if pos > code_bits:
            return ENDS_EARLY
        s = int(table_symbol[win])
        if s < k:
            if write:
                out[n] = s
            n += 1
        else:
            r = s - k + 1
            if n + r > numel:
                return RUN_PAST_END
            if write:
                for j in range(r):
                    out[n + j] = run_index
            n += r
    return pos
