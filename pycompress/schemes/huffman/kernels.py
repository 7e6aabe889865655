"""Compiled inner loops of the entropy codec (numba): one pass per weight, no Python per weight.

Huffman coding is sequential by nature, so the loops are plain scalar code that numba
compiles once (cached on disk); everything else stays numpy. Without numba the same
functions run as Python, correct but slow (kept for environments that lack it).
All bit arithmetic is done in uint64 so numba never promotes to float.
"""
from __future__ import annotations

import numpy as np

try:
    from numba import njit
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - the pinned toolchain has numba
    HAVE_NUMBA = False

    def njit(*args, **kwargs):
        if args and callable(args[0]):
            return args[0]
        return lambda f: f

_U = np.uint64


@njit(cache=True, nogil=True)
def exponent_histogram(bits, exp_shift, exp_mask, counts):
    """counts[e] += 1 for the exponent field e of every pattern."""
    for i in range(bits.size):
        e = (np.uint64(bits[i]) >> exp_shift) & exp_mask
        counts[e] += 1


@njit(cache=True, nogil=True)
def histogram_chunks(bits, exp_shift, exp_mask, mant_mask, chunk, counts, chunk_or):
    """One pass for the planner: the symbol histogram, and the OR of the mantissa fields of every run of
    `chunk` weights (its trailing zeros are the low mantissa bits all of the run leaves zero)."""
    j = 0
    c = 0
    acc = np.uint64(0)
    for i in range(bits.size):
        v = np.uint64(bits[i])
        counts[(v >> exp_shift) & exp_mask] += 1
        acc |= v & mant_mask
        c += 1
        if c == chunk:
            chunk_or[j] = acc
            j += 1
            c = 0
            acc = np.uint64(0)
    if c:
        chunk_or[j] = acc


@njit(cache=True, nogil=True)
def low_bits_set(bits, mask):
    """True if any pattern has a bit of `mask` set (the mantissa bits a narrowed field would drop)."""
    for i in range(bits.size):
        if np.uint64(bits[i]) & mask:
            return True
    return False


@njit(cache=True, nogil=True)
def encode_streams(bits, sign_shift, exp_shift, exp_mask, mant_drop, mant_width, code_of, len_of, block,
                   chunk, short, short_bits, out_code, out_sign, out_mant, out_offsets):
    """Split every pattern into sign bit, Huffman code of its exponent, mantissa (MSB-first streams).

    Weights of a run of `chunk` whose flag short[j] is set store mant_width - short_bits mantissa
    bits (their low short_bits are zero). out_offsets[j] = code-stream bit position of weight
    (j+1)*block. Returns the code-stream bits. Streams are flushed 32 bits at a time (bytewise for
    mantissas wider than 32 bits).
    """
    n = bits.size
    wide = mant_width > 32
    cacc = np.uint64(0)
    cn = 0
    cp = 0
    macc = np.uint64(0)
    mn = 0
    mp = 0
    sacc = np.uint64(0)
    pos = 0
    edge = block
    cc = 0
    ci = 0
    w = mant_width - (short_bits if short[0] else 0)
    wm = (np.uint64(1) << np.uint64(w)) - np.uint64(1)
    wshift = np.uint64(mant_drop + mant_width - w)
    for i in range(n):
        if i == edge:
            out_offsets[i // block - 1] = pos
            edge += block
        if cc == chunk:
            cc = 0
            ci += 1
            w = mant_width - (short_bits if short[ci] else 0)
            wm = (np.uint64(1) << np.uint64(w)) - np.uint64(1)
            wshift = np.uint64(mant_drop + mant_width - w)
        cc += 1
        v = np.uint64(bits[i])
        sacc = (sacc << np.uint64(1)) | (v >> sign_shift)
        if (i & 7) == 7:
            out_sign[i >> 3] = np.uint8(sacc & np.uint64(0xFF))
        e = (v >> exp_shift) & exp_mask
        length = len_of[e]
        cacc = (cacc << np.uint64(length)) | np.uint64(code_of[e])
        cn += length
        pos += length
        if cn >= 32:
            cn -= 32
            x = cacc >> np.uint64(cn)
            out_code[cp] = np.uint8((x >> np.uint64(24)) & np.uint64(0xFF))
            out_code[cp + 1] = np.uint8((x >> np.uint64(16)) & np.uint64(0xFF))
            out_code[cp + 2] = np.uint8((x >> np.uint64(8)) & np.uint64(0xFF))
            out_code[cp + 3] = np.uint8(x & np.uint64(0xFF))
            cp += 4
        if w > 0:
            macc = (macc << np.uint64(w)) | ((v >> wshift) & wm)
            mn += w
            if wide:
                while mn >= 8:
                    mn -= 8
                    out_mant[mp] = np.uint8((macc >> np.uint64(mn)) & np.uint64(0xFF))
                    mp += 1
            elif mn >= 32:
                mn -= 32
                x = macc >> np.uint64(mn)
                out_mant[mp] = np.uint8((x >> np.uint64(24)) & np.uint64(0xFF))
                out_mant[mp + 1] = np.uint8((x >> np.uint64(16)) & np.uint64(0xFF))
                out_mant[mp + 2] = np.uint8((x >> np.uint64(8)) & np.uint64(0xFF))
                out_mant[mp + 3] = np.uint8(x & np.uint64(0xFF))
                mp += 4
    if n & 7:
        out_sign[n >> 3] = np.uint8((sacc << np.uint64(8 - (n & 7))) & np.uint64(0xFF))
    while cn >= 8:
        cn -= 8
        out_code[cp] = np.uint8((cacc >> np.uint64(cn)) & np.uint64(0xFF))
        cp += 1
    if cn > 0:
        out_code[cp] = np.uint8((cacc << np.uint64(8 - cn)) & np.uint64(0xFF))
    while mn >= 8:
        mn -= 8
        out_mant[mp] = np.uint8((macc >> np.uint64(mn)) & np.uint64(0xFF))
        mp += 1
    if mn > 0:
        out_mant[mp] = np.uint8((macc << np.uint64(8 - mn)) & np.uint64(0xFF))
    return pos


@njit(cache=True, nogil=True)
def decode_streams(code, sign, mant, lut_sym, lut_len, max_len, exp_table, sign_shift, exp_shift, mant_drop,
                   mant_width, block, offsets, chunk, short, short_bits, first, start_bit, mstart, out):
    """Decode out.size weights starting at weight `first`, whose code starts at bit `start_bit` and
    mantissa at bit `mstart` (runs of `chunk` flagged in `short` store short_bits fewer mantissa bits).

    Table-driven: the next max_len stream bits index lut_sym/lut_len. `code` and `mant` carry 8
    zero bytes of padding past their data (reads need no bounds checks). Returns the code-stream
    bit position after the last weight, or -1 - j if the position at a block edge disagrees with
    offsets[j] (a corrupt stream).
    """
    count = out.size
    wide = mant_width > 32
    lmask = (np.uint64(1) << np.uint64(max_len)) - np.uint64(1)
    cbuf = np.uint64(0)
    cp = start_bit >> 3
    cn = 0
    while cn <= 56:
        cbuf = (cbuf << np.uint64(8)) | np.uint64(code[cp])
        cn += 8
        cp += 1
    cn -= start_bit & 7
    mbuf = np.uint64(0)
    mp = mstart >> 3
    mn = 0
    if mant_width > 0:
        while mn <= 56:
            mbuf = (mbuf << np.uint64(8)) | np.uint64(mant[mp])
            mn += 8
            mp += 1
        mn -= mstart & 7
    pos = start_bit
    edge = (first // block + 1) * block
    ci = first // chunk
    cc = first - ci * chunk
    w = mant_width - (short_bits if short[ci] else 0)
    wm = (np.uint64(1) << np.uint64(w)) - np.uint64(1)
    wup = np.uint64(mant_width - w + mant_drop)
    sbyte = np.uint64(sign[first >> 3]) << np.uint64(first & 7)
    for k in range(count):
        i = first + k
        if i == edge:
            if offsets[i // block - 1] != pos:
                return -1 - (i // block - 1)
            edge += block
        if cc == chunk:
            cc = 0
            ci += 1
            w = mant_width - (short_bits if short[ci] else 0)
            wm = (np.uint64(1) << np.uint64(w)) - np.uint64(1)
            wup = np.uint64(mant_width - w + mant_drop)
        cc += 1
        if cn < max_len:  # cn < 16: one big-endian 32-bit read keeps every unread bit
            cbuf = (cbuf << np.uint64(32)) | (np.uint64(code[cp]) << np.uint64(24)) | (np.uint64(code[cp + 1]) << np.uint64(16)) \
                | (np.uint64(code[cp + 2]) << np.uint64(8)) | np.uint64(code[cp + 3])
            cn += 32
            cp += 4
        window = (cbuf >> np.uint64(cn - max_len)) & lmask
        length = lut_len[window]
        cn -= length
        pos += length
        e = np.uint64(exp_table[lut_sym[window]])
        if (i & 7) == 0:
            sbyte = np.uint64(sign[i >> 3])
        s = (sbyte >> np.uint64(7)) & np.uint64(1)
        sbyte = sbyte << np.uint64(1)
        m = np.uint64(0)
        if w > 0:
            if mn < w:
                if wide:
                    while mn <= 56:
                        mbuf = (mbuf << np.uint64(8)) | np.uint64(mant[mp])
                        mn += 8
                        mp += 1
                else:  # mn < w <= 32: room for 32 more bits
                    mbuf = (mbuf << np.uint64(32)) | (np.uint64(mant[mp]) << np.uint64(24)) \
                        | (np.uint64(mant[mp + 1]) << np.uint64(16)) | (np.uint64(mant[mp + 2]) << np.uint64(8)) \
                        | np.uint64(mant[mp + 3])
                    mn += 32
                    mp += 4
            mn -= w
            m = ((mbuf >> np.uint64(mn)) & wm) << wup
        out[k] = (s << sign_shift) | (e << exp_shift) | m
    return pos


@njit(cache=True, nogil=True)
def walk_codes(code, lut_len, max_len, block, offsets, n):
    """Code lengths only, for validation: the stream position after n codes, or -1 - j at the first
    block edge that disagrees with offsets[j]."""
    lmask = (np.uint64(1) << np.uint64(max_len)) - np.uint64(1)
    ncode = code.size
    cbuf = np.uint64(0)
    cp = 0
    cn = 0
    pos = 0
    for i in range(n):
        if i > 0 and i % block == 0:
            if offsets[i // block - 1] != pos:
                return -1 - (i // block - 1)
        while cn <= 56:
            b = np.uint64(code[cp]) if cp < ncode else np.uint64(0)
            cbuf = (cbuf << np.uint64(8)) | b
            cn += 8
            cp += 1
        length = lut_len[(cbuf >> np.uint64(cn - max_len)) & lmask]
        cn -= length
        pos += length
    return pos
