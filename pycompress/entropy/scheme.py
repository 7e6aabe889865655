"""The `huffman` storage scheme: exponent-table indices entropy-coded, sign and mantissa fixed width.

Per tensor: the symbol table (distinct values of the exponent field joined with the top
`head_bits` mantissa bits, ascending, l + head_bits bits each), one 4-bit code length per
table entry (canonical, length-limited Huffman), the code stream, packed sign bits, the
remaining mantissa_bits - head_bits mantissa bits packed, and the code-stream bit offset of
every `block`-th weight (fixed width), so a decoder can start at any block and parallel lanes
can split a tensor. Head bits matter because within one binade the leading mantissa bits of
bell-shaped weights are not uniform; the encoder picks 0..MAX_HEAD_BITS per tensor, whichever
stores fewest bits. A decoder's table lookup yields exponent and head bits together. Every field is bit-packed, so `stored_bits()` is exactly what the file holds
(before byte padding), code table and offsets included.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch

from .. import bitpack
from .. import validate as v
from ..container import register_scheme
from ..errors import PycompressError
from ..formats import FloatFormat, StoredTensorShape, bits_tensor, format_of_dtype, get_format, tensor_bits
from .huffman import DEFAULT_MAX_LEN, MAX_LEN_LIMIT, canonical_codes, check_lengths, decode_table, package_merge

SCHEME_VERSION = 1
DEFAULT_BLOCK = 4096
LENGTH_BITS = 4  # one stored code length, 0..15
FIELDS = ("symbols", "code_lengths", "code", "sign", "mantissa", "offsets")
META_KEYS = ("format", "shape", "scheme_version", "distinct", "max_len", "mantissa_bits", "head_bits", "block",
             "code_bits")
MAX_HEAD_BITS = 3


def offset_bits_for(code_bits: int) -> int:
    """Width of one stored offset: enough for any position 0..code_bits."""
    return max(1, int(code_bits).bit_length())


def num_offsets(n: int, block: int) -> int:
    """Offsets of weights block, 2*block, ... below n (weight 0 starts at bit 0)."""
    return max(0, -(-n // block) - 1)


def field_bits(n: int, fmt: FloatFormat, distinct: int, mantissa_bits: int, code_bits: int, block: int,
               head_bits: int = 0) -> dict[str, int]:
    """Exact stored bits of each field."""
    return {
        "symbols": distinct * (fmt.exponent_bits + head_bits),
        "code_lengths": distinct * LENGTH_BITS,
        "code": code_bits,
        "sign": n,
        "mantissa": n * (mantissa_bits - head_bits),
        "offsets": num_offsets(n, block) * offset_bits_for(code_bits),
    }


@dataclass(frozen=True)
class CodePlan:
    """What the encoder decided for one tensor: head bits, symbol table, code lengths, and the cost."""

    head_bits: int
    symbols: np.ndarray  # int64, ascending (exponent field << head_bits | head)
    counts: np.ndarray  # int64 per symbol
    lengths: np.ndarray  # uint8 per symbol
    stored_bits: int


def plan_code(bits: np.ndarray, fmt: FloatFormat | str, mantissa_bits: int | None = None, max_len: int = DEFAULT_MAX_LEN,
              block: int = DEFAULT_BLOCK, head_bits: int | None = None) -> CodePlan:
    """Histogram the (exponent, head) symbols once at the widest head and choose the cheapest head width
    (or the given one); no stream is written."""
    from . import kernels

    fmt = get_format(fmt)
    flat = np.ascontiguousarray(bits, dtype=fmt.uint_dtype).reshape(-1)
    m = fmt.mantissa_bits if mantissa_bits is None else int(mantissa_bits)
    widest = min(MAX_HEAD_BITS, m) if head_bits is None else int(head_bits)
    if not 0 <= widest <= min(MAX_HEAD_BITS, m):
        raise PycompressError(f"head_bits {widest} outside 0..{min(MAX_HEAD_BITS, m)}")
    p = _params(fmt, m, widest)
    counts = np.zeros(1 << (fmt.exponent_bits + widest), np.int64)
    kernels.exponent_histogram(flat, p["exp_shift"], p["exp_mask"], counts)
    best = None
    for t in ([widest] if head_bits is not None else range(widest, -1, -1)):
        c = counts.reshape(-1, 1 << (widest - t)).sum(axis=1)  # merge the dropped head bits
        symbols = np.flatnonzero(c)
        if symbols.size > 1 << max_len:
            continue
        lengths = package_merge(c[symbols], max_len)
        code_bits = int((c[symbols] * lengths.astype(np.int64)).sum())
        total = sum(field_bits(flat.size, fmt, symbols.size, m, code_bits, block, t).values())
        if best is None or total <= best.stored_bits:
            best = CodePlan(t, symbols, c[symbols], lengths, total)
    if best is None:
        raise PycompressError(f"{np.count_nonzero(counts)} distinct symbols need codes longer than {max_len} bits")
    return best


def huffman_stored_bits(bits: np.ndarray, fmt: FloatFormat | str, mantissa_bits: int | None = None,
                        max_len: int = DEFAULT_MAX_LEN, block: int = DEFAULT_BLOCK) -> int:
    """Bits the scheme stores for these patterns (no stream written)."""
    return plan_code(bits, fmt, mantissa_bits, max_len, block).stored_bits


def _padded(a: np.ndarray) -> np.ndarray:
    """The stream with 8 zero bytes appended: the decode loop reads ahead without bounds checks."""
    out = np.zeros(a.size + 8, np.uint8)
    out[:a.size] = a
    return out


def _params(fmt: FloatFormat, mantissa_bits: int, head_bits: int) -> dict:
    """Kernel shifts: the symbol is the exponent field with the top head_bits mantissa bits below it."""
    U = np.uint64
    return {"sign_shift": U(fmt.total_bits - 1), "exp_shift": U(fmt.mantissa_bits - head_bits),
            "exp_mask": U((1 << (fmt.exponent_bits + head_bits)) - 1), "mant_drop": U(fmt.mantissa_bits - mantissa_bits),
            "mant_width": mantissa_bits - head_bits}


@register_scheme
@dataclass(frozen=True, eq=False)
class HuffmanTensor(StoredTensorShape):
    """One tensor in the huffman scheme; arrays are the packed fields (uint8)."""

    format: str
    shape: tuple[int, ...]
    symbols: np.ndarray  # uint16, ascending: exponent field << head_bits | top head_bits mantissa bits
    code_lengths: np.ndarray  # uint8, per symbol
    max_len: int
    mantissa_bits: int  # stored mantissa width, head bits included (<= format's)
    head_bits: int
    block: int
    code_bits: int  # exact length of the code stream
    code: np.ndarray  # uint8, MSB first
    sign: np.ndarray  # uint8, 1 bit/value
    mantissa: np.ndarray  # uint8, mantissa_bits/value
    offsets: np.ndarray  # int64, code bit position of weights block, 2*block, ...

    scheme = "huffman"

    @property
    def distinct_symbols(self) -> int:
        return int(self.symbols.size)

    @property
    def offset_bits(self) -> int:
        return offset_bits_for(self.code_bits)

    def field_bits(self) -> dict[str, int]:
        return field_bits(self.numel, self.fmt, self.distinct_symbols, self.mantissa_bits, self.code_bits, self.block, self.head_bits)

    def stored_bits(self) -> int:
        """Every stored bit: N*(1 + m - t) + code stream + s*(l + t + 4) + offsets (s symbols, t head bits)."""
        return sum(self.field_bits().values())

    def _decode_into(self, out: np.ndarray, first: int, start_bit: int) -> None:
        from . import kernels  # numba is imported only when a tensor is coded

        if out.size == 0:
            return
        fmt = self.fmt
        table = decode_table(self.code_lengths, self.max_len)
        p = _params(fmt, self.mantissa_bits, self.head_bits)
        pos = kernels.decode_streams(
            _padded(self.code), self.sign, _padded(self.mantissa), table.symbol, table.length, self.max_len,
            self.symbols.astype(np.uint64), p["sign_shift"], p["exp_shift"], p["mant_drop"],
            p["mant_width"], self.block, self.offsets, first, start_bit, out)
        if pos < 0:
            raise PycompressError(f"corrupt tensor: code stream disagrees with offset {-1 - pos}")
        if first + out.size == self.numel and pos != self.code_bits:
            raise PycompressError(f"corrupt tensor: code stream decodes to {pos} bits, metadata says {self.code_bits}")

    def decode_bits(self) -> np.ndarray:
        out = np.empty(self.numel, self.fmt.uint_dtype)
        self._decode_into(out, 0, 0)
        return out.reshape(self.shape)

    def decode_blocks(self, first_block: int, count: int) -> np.ndarray:
        """Random access: weights of blocks first_block .. first_block+count-1 (flat), from the offsets alone."""
        n, k = self.numel, self.block
        if first_block < 0 or count < 0 or first_block * k > n:
            raise PycompressError(f"block {first_block} outside the tensor")
        first = first_block * k
        stop = min(n, first + count * k)
        start_bit = 0 if first_block == 0 else int(self.offsets[first_block - 1])
        out = np.empty(max(0, stop - first), self.fmt.uint_dtype)
        self._decode_into(out, first, start_bit)
        return out

    def decode(self) -> torch.Tensor:
        return bits_tensor(self.decode_bits(), self.fmt)

    # container hooks
    def arrays(self) -> dict[str, np.ndarray]:
        fmt = self.fmt
        return {
            "symbols": bitpack.pack(self.symbols, fmt.exponent_bits + self.head_bits) if self.symbols.size else np.zeros(0, np.uint8),
            "code_lengths": bitpack.pack(self.code_lengths, LENGTH_BITS) if self.code_lengths.size else np.zeros(0, np.uint8),
            "code": self.code,
            "sign": self.sign,
            "mantissa": self.mantissa,
            "offsets": bitpack.pack(self.offsets.astype(np.uint64), self.offset_bits) if self.offsets.size else np.zeros(0, np.uint8),
        }

    def meta(self) -> dict:
        return {"format": self.format, "shape": list(self.shape), "scheme_version": SCHEME_VERSION, "distinct": self.distinct_symbols,
                "max_len": self.max_len, "mantissa_bits": self.mantissa_bits, "head_bits": self.head_bits, "block": self.block,
                "code_bits": self.code_bits}

    @classmethod
    def validate_stored(cls, arrays: Mapping[str, np.ndarray], meta: Mapping, what: str) -> None:
        """Container hook: metadata typed and in range, every byte length exact, code lengths a complete
        prefix code within max_len, offsets monotone inside the stream, and the code stream walked once
        (lengths only) to prove it ends exactly at code_bits and meets every offset; so decode cannot
        fail on a container that passed."""
        v.need_keys(meta, what, META_KEYS)
        version = v.need_int(meta["scheme_version"], f"{what}: scheme_version", 1, 1 << 31)
        if version > SCHEME_VERSION:
            raise v.Invalid(f"{what}: huffman scheme version {version} is newer than this pycompress reads ({SCHEME_VERSION})")
        fmt = v.need_format(meta["format"], f"{what}: format")
        n = math.prod(v.need_shape(meta["shape"], f"{what}: shape"))
        max_len = v.need_int(meta["max_len"], f"{what}: max_len", 1, MAX_LEN_LIMIT)
        m = v.need_int(meta["mantissa_bits"], f"{what}: mantissa_bits", 0, fmt.mantissa_bits)
        t = v.need_int(meta["head_bits"], f"{what}: head_bits", 0, min(m, MAX_HEAD_BITS))
        distinct = v.need_int(meta["distinct"], f"{what}: distinct", 1, min(1 << (fmt.exponent_bits + t), 1 << max_len))
        block = v.need_int(meta["block"], f"{what}: block", 1, v.MAX_NUMEL)
        code_bits = v.need_int(meta["code_bits"], f"{what}: code_bits", 0, n * max_len)
        if (distinct == 1) != (code_bits == 0) or (distinct > 1 and code_bits < n):
            raise v.Invalid(f"{what}: {code_bits} code bits for {n} weights and {distinct} distinct exponents")
        v.need_fields(arrays, what, FIELDS)
        widths = field_bits(n, fmt, distinct, m, code_bits, block, t)
        for key in FIELDS:
            v.need_array(arrays, key, what, bitpack.packed_nbytes(widths[key], 1))
            v.need_zero_padding(arrays[key], widths[key], 1, f"{what}: {key}")
        table = bitpack.unpack(arrays["symbols"], fmt.exponent_bits + t, distinct, np.int64)
        if distinct > 1 and not bool(np.all(table[1:] > table[:-1])):
            raise v.Invalid(f"{what}: symbol table is not strictly ascending")
        lengths = bitpack.unpack(arrays["code_lengths"], LENGTH_BITS, distinct, np.uint8)
        try:
            check_lengths(lengths, max_len)
        except PycompressError as exc:
            raise v.Invalid(f"{what}: {exc}") from None
        k = num_offsets(n, block)
        offsets = bitpack.unpack(arrays["offsets"], offset_bits_for(code_bits), k, np.int64) if k else np.zeros(0, np.int64)
        if k and (np.any(np.diff(np.concatenate([[0], offsets, [code_bits]])) < 0)):
            raise v.Invalid(f"{what}: offsets not monotone within the {code_bits}-bit code stream")
        from . import kernels

        table = decode_table(lengths, max_len)
        end = kernels.walk_codes(np.ascontiguousarray(arrays["code"]), table.length, max_len, block, offsets, n)
        if end < 0:
            raise v.Invalid(f"{what}: code stream disagrees with offset {-1 - end}")
        if end != code_bits:
            raise v.Invalid(f"{what}: code stream decodes to {end} bits, metadata says {code_bits}")

    @classmethod
    def from_stored(cls, arrays: dict[str, np.ndarray], meta: dict) -> "HuffmanTensor":
        """From arrays and metadata that passed `validate_stored`."""
        fmt = get_format(meta["format"])
        n = int(np.prod(meta["shape"], dtype=np.int64))
        distinct, code_bits, block = meta["distinct"], meta["code_bits"], meta["block"]
        k = num_offsets(n, block)
        return cls(
            format=fmt.name,
            shape=tuple(meta["shape"]),
            symbols=bitpack.unpack(arrays["symbols"], fmt.exponent_bits + meta["head_bits"], distinct, np.uint16),
            code_lengths=bitpack.unpack(arrays["code_lengths"], LENGTH_BITS, distinct, np.uint8),
            max_len=meta["max_len"],
            mantissa_bits=meta["mantissa_bits"],
            head_bits=meta["head_bits"],
            block=block,
            code_bits=code_bits,
            code=np.ascontiguousarray(arrays["code"]),
            sign=np.ascontiguousarray(arrays["sign"]),
            mantissa=np.ascontiguousarray(arrays["mantissa"]),
            offsets=bitpack.unpack(arrays["offsets"], offset_bits_for(code_bits), k, np.int64) if k else np.zeros(0, np.int64),
        )


def encode_bits(bits: np.ndarray, fmt: FloatFormat | str, mantissa_bits: int | None = None,
                max_len: int = DEFAULT_MAX_LEN, block: int = DEFAULT_BLOCK, head_bits: int | None = None) -> HuffmanTensor:
    """Entropy-code raw bit patterns of `fmt` (any shape), losslessly; head_bits None picks the cheapest."""
    from . import kernels

    fmt = get_format(fmt)
    shape = tuple(int(d) for d in np.shape(bits))
    flat = np.ascontiguousarray(bits, dtype=fmt.uint_dtype).reshape(-1)
    n = flat.size
    m = fmt.mantissa_bits if mantissa_bits is None else int(mantissa_bits)
    if not 0 <= m <= fmt.mantissa_bits:
        raise PycompressError(f"mantissa_bits {m} outside 0..{fmt.mantissa_bits} for {fmt.name}")
    if not 1 <= max_len <= MAX_LEN_LIMIT:
        raise PycompressError(f"maximum code length {max_len} outside 1..{MAX_LEN_LIMIT}")
    if block < 1:
        raise PycompressError(f"offset block {block} must be positive")
    drop = fmt.mantissa_bits - m
    if drop and kernels.low_bits_set(flat, np.uint64((1 << drop) - 1)):
        raise PycompressError(f"cannot store {m} mantissa bits losslessly: low {drop} bits are not zero")
    plan = plan_code(flat, fmt, m, max_len, block, head_bits)
    t = plan.head_bits
    p = _params(fmt, m, t)
    code_of = np.zeros(1 << (fmt.exponent_bits + t), np.uint32)
    len_of = np.zeros(code_of.size, np.uint8)
    code_of[plan.symbols] = canonical_codes(plan.lengths)
    len_of[plan.symbols] = plan.lengths
    code_bits = int((plan.counts * plan.lengths.astype(np.int64)).sum())
    out_code = np.zeros(bitpack.packed_nbytes(code_bits, 1), np.uint8)
    out_sign = np.zeros(bitpack.packed_nbytes(n, 1), np.uint8)
    out_mant = np.zeros(bitpack.packed_nbytes(n * p["mant_width"], 1), np.uint8)
    offsets = np.zeros(num_offsets(n, block), np.int64)
    written = kernels.encode_streams(flat, p["sign_shift"], p["exp_shift"], p["exp_mask"], p["mant_drop"], p["mant_width"],
                                     code_of, len_of, block, out_code, out_sign, out_mant, offsets)
    if written != code_bits:
        raise PycompressError(f"internal error: wrote {written} code bits, planned {code_bits}")
    return HuffmanTensor(fmt.name, shape, plan.symbols.astype(np.uint16), plan.lengths, max_len, m, t, block, code_bits,
                         out_code, out_sign, out_mant, offsets)


def encode(tensor: torch.Tensor | np.ndarray, fmt: FloatFormat | str | None = None, **options) -> HuffmanTensor:
    """Encode a float tensor, first converted to `fmt` (round to nearest even) if given."""
    if isinstance(tensor, np.ndarray):
        tensor = torch.from_numpy(np.ascontiguousarray(tensor))
    if not tensor.is_floating_point():
        raise PycompressError(f"unsupported dtype {tensor.dtype}: entropy coding needs a floating tensor")
    if fmt is not None:
        tensor = tensor.detach().cpu().to(get_format(fmt).torch_dtype)
    return encode_bits(tensor_bits(tensor), format_of_dtype(tensor.dtype), **options)
