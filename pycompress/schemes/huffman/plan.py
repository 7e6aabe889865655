"""What the `huffman` scheme stores for a tensor, decided before any stream is written.

One pass over the patterns (kernels.histogram_chunks) gives the symbol histogram at the widest
head and the mantissa OR of every run; from them: the head width, the narrowest lossless mantissa,
the short runs that pay for their flags, and the exact stored bits of every field (`field_bits`,
the one formula the container, the accounting and validation use).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycompress.core.errors import PycompressError
from pycompress.core.formats import FloatFormat, get_format
from .huffman import DEFAULT_MAX_LEN, package_merge

DEFAULT_BLOCK = 4096
LENGTH_BITS = 4  # one stored code length, 0..15
MAX_HEAD_BITS = 3
NO_CHUNK = 1 << 62  # chunk length passed to the kernels when there are no short runs


def offset_bits_for(code_bits: int) -> int:
    """Width of one stored offset: enough for any position 0..code_bits."""
    return max(1, int(code_bits).bit_length())


def num_offsets(n: int, block: int) -> int:
    """Offsets of weights block, 2*block, ... below n (weight 0 starts at bit 0)."""
    return max(0, -(-n // block) - 1)


def num_chunks(n: int, chunk: int) -> int:
    return -(-n // chunk) if chunk else 0


def short_weights(flags: np.ndarray, n: int, chunk: int) -> int:
    """Weights in flagged runs (the last run may be partial)."""
    k = int(np.count_nonzero(flags))
    if k and flags[-1]:
        return (k - 1) * chunk + (n - (flags.size - 1) * chunk)
    return k * chunk


def field_bits(n: int, fmt: FloatFormat, distinct: int, mantissa_bits: int, code_bits: int, block: int,
               head_bits: int = 0, short_bits: int = 0, chunk: int = 0, n_short: int = 0) -> dict[str, int]:
    """Exact stored bits of each field (`short` only in version 2: short_bits > 0)."""
    bits = {
        "symbols": distinct * (fmt.exponent_bits + head_bits),
        "code_lengths": distinct * LENGTH_BITS,
        "code": code_bits,
        "sign": n,
        "mantissa": n * (mantissa_bits - head_bits) - short_bits * n_short,
        "offsets": num_offsets(n, block) * offset_bits_for(code_bits),
    }
    if short_bits:
        bits["short"] = num_chunks(n, chunk)
    return bits


@dataclass(frozen=True)
class CodePlan:
    """What the encoder decided for one tensor: mantissa width, head bits, symbol table, code lengths,
    short runs, and the cost."""

    mantissa_bits: int
    head_bits: int
    symbols: np.ndarray  # int64, ascending (exponent field << head_bits | head)
    counts: np.ndarray  # int64 per symbol
    lengths: np.ndarray  # uint8 per symbol
    short_bits: int  # 0: no short runs (version 1)
    chunk: int
    short: np.ndarray  # bool per run (empty without short runs)
    stored_bits: int


def default_chunk(shape: tuple[int, ...]) -> int:
    """One output row (all weights of one output unit / embedding row); the whole tensor when 1-D."""
    n = int(np.prod(shape, dtype=np.int64))
    return max(1, n // shape[0]) if len(shape) >= 2 and shape[0] > 0 else max(1, n)


def trailing_zeros(x: np.ndarray, cap: int) -> np.ndarray:
    """Trailing zero bits of each uint64 (cap for 0): the lowest set bit is a power of two, exact in float64."""
    low = x & (~x + np.uint64(1))
    out = np.full(x.size, cap, np.int64)
    nz = x != 0
    out[nz] = np.log2(low[nz].astype(np.float64)).astype(np.int64)
    return np.minimum(out, cap)


def _short_runs(tz: np.ndarray, sizes: np.ndarray, drop: int, rest: int) -> tuple[int, np.ndarray, int]:
    """(short_bits, flags, bits saved) maximising D * (weights in runs with >= D spare low zero bits) - runs."""
    spare = np.clip(tz - drop, 0, rest)
    if rest == 0 or spare.size == 0:
        return 0, np.zeros(0, bool), 0
    weights_at = np.bincount(spare, weights=sizes, minlength=rest + 1)[::-1].cumsum()[::-1]  # runs with spare >= D
    d = np.arange(rest + 1)
    gain = d * weights_at.astype(np.int64) - spare.size
    gain[0] = 0
    best = int(np.argmax(gain))
    if gain[best] <= 0:
        return 0, np.zeros(0, bool), 0
    return best, spare >= best, int(gain[best])


def _entropy_bits(counts: np.ndarray) -> float:
    """Shannon bound of the code stream (bits), a lower bound on any prefix code's total length."""
    c = counts.astype(np.float64)
    return float(-(c * np.log2(c / c.sum())).sum())


def plan_code(bits: np.ndarray, fmt: FloatFormat | str, mantissa_bits: int | None = None, max_len: int = DEFAULT_MAX_LEN,
              block: int = DEFAULT_BLOCK, head_bits: int | None = None, chunk: int | None = None) -> CodePlan:
    """One pass over the patterns (symbol histogram at the widest head, mantissa OR per run), then the
    cheapest head width (or the given one), the narrowest lossless mantissa (when `mantissa_bits` is
    None) and the short runs that pay for their flags (`chunk` None: one output row; 0: none).
    No stream is written."""
    from . import kernels

    fmt = get_format(fmt)
    shape = tuple(int(d) for d in np.shape(bits))
    flat = np.ascontiguousarray(bits, dtype=fmt.uint_dtype).reshape(-1)
    n = flat.size
    fm = fmt.mantissa_bits
    c = default_chunk(shape) if chunk is None else int(chunk)
    if c < 0:
        raise PycompressError(f"run length {c} must be positive (0: no short runs)")
    widest = min(MAX_HEAD_BITS, fm) if head_bits is None else int(head_bits)
    if not 0 <= widest <= min(MAX_HEAD_BITS, fm if mantissa_bits is None else int(mantissa_bits)):
        raise PycompressError(f"head_bits {widest} outside 0..{min(MAX_HEAD_BITS, fm)}")
    p = _params(fmt, fm, widest)
    counts = np.zeros(1 << (fmt.exponent_bits + widest), np.int64)
    runs = c if c else max(1, n)
    chunk_or = np.zeros(num_chunks(n, runs), np.uint64)
    kernels.histogram_chunks(flat, p["exp_shift"], p["exp_mask"], np.uint64((1 << fm) - 1), runs, counts, chunk_or)
    tz = trailing_zeros(chunk_or, fm)
    lowest = int(tz.min()) if tz.size else fm
    m = max(fm - lowest, widest if head_bits is not None else 0) if mantissa_bits is None else int(mantissa_bits)
    if not 0 <= m <= fm:
        raise PycompressError(f"mantissa_bits {m} outside 0..{fm} for {fmt.name}")
    if fm - m > lowest:
        raise PycompressError(f"cannot store {m} mantissa bits losslessly: low {fm - m} bits are not zero")
    sizes = np.full(chunk_or.size, runs, np.int64)
    if sizes.size:
        sizes[-1] = n - (sizes.size - 1) * runs
    best = None
    for t in ([widest] if head_bits is not None else range(min(widest, m), -1, -1)):
        cs = counts.reshape(-1, 1 << (widest - t)).sum(axis=1)  # merge the dropped head bits
        symbols = np.flatnonzero(cs)
        if symbols.size > 1 << max_len:
            continue
        d, flags, _ = _short_runs(tz, sizes, fm - m, m - t) if c else (0, np.zeros(0, bool), 0)
        n_short = int(sizes[flags].sum()) if d else 0
        rest = sum(field_bits(n, fmt, symbols.size, m, 0, block, t, d, c, n_short).values())
        if best is not None and rest + _entropy_bits(cs[symbols]) > best.stored_bits + 1:
            continue  # no prefix code beats the Shannon bound: this head width cannot win (saves package-merge)
        lengths = package_merge(cs[symbols], max_len)
        code_bits = int((cs[symbols] * lengths.astype(np.int64)).sum())
        total = sum(field_bits(n, fmt, symbols.size, m, code_bits, block, t, d, c, n_short).values())
        if best is None or total <= best.stored_bits:
            best = CodePlan(m, t, symbols, cs[symbols], lengths, d, c if d else 0, flags, total)
    if best is None:
        raise PycompressError(f"{np.count_nonzero(counts)} distinct symbols need codes longer than {max_len} bits")
    return best


def huffman_stored_bits(bits: np.ndarray, fmt: FloatFormat | str, mantissa_bits: int | None = None,
                        max_len: int = DEFAULT_MAX_LEN, block: int = DEFAULT_BLOCK) -> int:
    """Bits the scheme stores for these patterns (no stream written); `bits` keeps its shape (runs are rows)."""
    return plan_code(bits, fmt, mantissa_bits, max_len, block).stored_bits


def _params(fmt: FloatFormat, mantissa_bits: int, head_bits: int) -> dict:
    """Kernel shifts: the symbol is the exponent field with the top head_bits mantissa bits below it."""
    U = np.uint64
    return {"sign_shift": U(fmt.total_bits - 1), "exp_shift": U(fmt.mantissa_bits - head_bits),
            "exp_mask": U((1 << (fmt.exponent_bits + head_bits)) - 1), "mant_drop": U(fmt.mantissa_bits - mantissa_bits),
            "mant_width": mantissa_bits - head_bits}
