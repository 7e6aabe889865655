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

Version 2 adds short runs: weights converted from a narrower format (FP16/BF16 rows inside an
FP32 checkpoint: untouched embedding rows, a layer kept from a half-precision original) leave
their low mantissa bits zero. The tensor is cut into runs of `chunk` weights (one output row by
default); one stored flag per run says its weights all leave the low `short_bits` mantissa bits
zero, and those weights store that many fewer mantissa bits. The encoder keeps the feature only
when it saves bits (version 1 otherwise), and always narrows a mantissa whose low bits are zero
in the whole tensor. Which runs are short is data, not shape: the flags are the stored field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import torch

from pycompress.core import bitpack
from pycompress.core import validate as v
from pycompress.core.container import register_scheme
from pycompress.core.errors import PycompressError
from pycompress.core.formats import (FloatFormat, StoredTensorShape, bits_tensor, format_of_dtype, get_format,
    tensor_bits)
from .huffman import DEFAULT_MAX_LEN, MAX_LEN_LIMIT, canonical_codes, check_lengths, decode_table
from .plan import (DEFAULT_BLOCK, LENGTH_BITS, MAX_HEAD_BITS, NO_CHUNK, CodePlan, _params, default_chunk,  # noqa: F401
    field_bits, huffman_stored_bits, num_chunks, num_offsets, offset_bits_for, plan_code, short_weights)

SCHEME_VERSION = 2  # 2: short runs (chunk, short_bits, field "short"); 1 is written when they are not used
FIELDS = ("symbols", "code_lengths", "code", "sign", "mantissa", "offsets")
META_KEYS = ("format", "shape", "scheme_version", "distinct", "max_len", "mantissa_bits", "head_bits", "block",
             "code_bits")
V2_META_KEYS = ("chunk", "short_bits")


def _padded(a: np.ndarray) -> np.ndarray:
    """The stream with 8 zero bytes appended: the decode loop reads ahead without bounds checks."""
    out = np.zeros(a.size + 8, np.uint8)
    out[:a.size] = a
    return out


def _runs(short_bits: int, chunk: int, short: np.ndarray) -> tuple[int, np.ndarray]:
    """Kernel arguments for the short runs: (chunk, uint8 flags), one endless long run when there are none."""
    if not short_bits:
        return NO_CHUNK, np.zeros(1, np.uint8)
    return chunk, short.astype(np.uint8)


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
    mantissa: np.ndarray  # uint8, mantissa_bits - head_bits per value (short_bits fewer in short runs)
    offsets: np.ndarray  # int64, code bit position of weights block, 2*block, ...
    short_bits: int = 0  # version 2: low mantissa bits not stored in short runs (0: none)
    chunk: int = 0  # weights per run (0 when short_bits is 0)
    short: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # bool per run

    scheme = "huffman"

    @property
    def version(self) -> int:
        return 2 if self.short_bits else 1

    @property
    def distinct_symbols(self) -> int:
        return int(self.symbols.size)

    @property
    def offset_bits(self) -> int:
        return offset_bits_for(self.code_bits)

    @property
    def short_weights(self) -> int:
        return short_weights(self.short, self.numel, self.chunk) if self.short_bits else 0

    def field_bits(self) -> dict[str, int]:
        return field_bits(self.numel, self.fmt, self.distinct_symbols, self.mantissa_bits, self.code_bits, self.block,
                          self.head_bits, self.short_bits, self.chunk, self.short_weights)

    def stored_bits(self) -> int:
        """Every stored bit: N*(1 + m - t) - D*N_short + code stream + s*(l + t + 4) + offsets + run flags."""
        return sum(self.field_bits().values())

    def _mantissa_start(self, first: int) -> int:
        """Mantissa-stream bit position of weight `first`."""
        rest = self.mantissa_bits - self.head_bits
        if not self.short_bits or first == 0:
            return first * rest
        full, part = divmod(first, self.chunk)
        before = int(np.count_nonzero(self.short[:full])) * self.chunk + (part if full < self.short.size and self.short[full] else 0)
        return first * rest - self.short_bits * before

    def _decode_into(self, out: np.ndarray, first: int, start_bit: int) -> None:
        from . import kernels  # numba is imported only when a tensor is coded

        if out.size == 0:
            return
        fmt = self.fmt
        table = decode_table(self.code_lengths, self.max_len)
        p = _params(fmt, self.mantissa_bits, self.head_bits)
        chunk, short = _runs(self.short_bits, self.chunk, self.short)
        pos = kernels.decode_streams(
            _padded(self.code), self.sign, _padded(self.mantissa), table.symbol, table.length, self.max_len,
            self.symbols.astype(np.uint64), p["sign_shift"], p["exp_shift"], p["mant_drop"],
            p["mant_width"], self.block, self.offsets, chunk, short, self.short_bits, first, start_bit,
            self._mantissa_start(first), out)
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
        out = {
            "symbols": bitpack.pack(self.symbols, fmt.exponent_bits + self.head_bits) if self.symbols.size else np.zeros(0, np.uint8),
            "code_lengths": bitpack.pack(self.code_lengths, LENGTH_BITS) if self.code_lengths.size else np.zeros(0, np.uint8),
            "code": self.code,
            "sign": self.sign,
            "mantissa": self.mantissa,
            "offsets": bitpack.pack(self.offsets.astype(np.uint64), self.offset_bits) if self.offsets.size else np.zeros(0, np.uint8),
        }
        if self.short_bits:
            out["short"] = np.packbits(self.short.astype(np.uint8))
        return out

    def meta(self) -> dict:
        meta = {"format": self.format, "shape": list(self.shape), "scheme_version": self.version,
                "distinct": self.distinct_symbols, "max_len": self.max_len, "mantissa_bits": self.mantissa_bits,
                "head_bits": self.head_bits, "block": self.block, "code_bits": self.code_bits}
        if self.short_bits:
            meta.update(chunk=self.chunk, short_bits=self.short_bits)
        return meta

    @classmethod
    def validate_stored(cls, arrays: Mapping[str, np.ndarray], meta: Mapping, what: str) -> None:
        """Container hook: metadata typed and in range, every byte length exact, code lengths a complete
        prefix code within max_len, offsets monotone inside the stream, and the code stream walked once
        (lengths only) to prove it ends exactly at code_bits and meets every offset; so decode cannot
        fail on a container that passed. Version 2: run length and short bits in range, the mantissa
        length exact for the stored run flags."""
        v.need_keys(meta, what, META_KEYS, V2_META_KEYS)
        version = v.need_int(meta["scheme_version"], f"{what}: scheme_version", 1, 1 << 31)
        if version > SCHEME_VERSION:
            raise v.Invalid(f"{what}: huffman scheme version {version} is newer than this pycompress reads ({SCHEME_VERSION})")
        v.need_keys(meta, what, META_KEYS + (V2_META_KEYS if version >= 2 else ()))
        fmt = v.need_format(meta["format"], f"{what}: format")
        n = math.prod(v.need_shape(meta["shape"], f"{what}: shape"))
        max_len = v.need_int(meta["max_len"], f"{what}: max_len", 1, MAX_LEN_LIMIT)
        m = v.need_int(meta["mantissa_bits"], f"{what}: mantissa_bits", 0, fmt.mantissa_bits)
        t = v.need_int(meta["head_bits"], f"{what}: head_bits", 0, min(m, MAX_HEAD_BITS))
        distinct = v.need_int(meta["distinct"], f"{what}: distinct", 1, min(1 << (fmt.exponent_bits + t), 1 << max_len))
        block = v.need_int(meta["block"], f"{what}: block", 1, v.MAX_NUMEL)
        code_bits = v.need_int(meta["code_bits"], f"{what}: code_bits", 0, n * max_len)
        d = chunk = n_short = 0
        fields = FIELDS
        if version >= 2:
            d = v.need_int(meta["short_bits"], f"{what}: short_bits", 1, max(1, m - t))
            chunk = v.need_int(meta["chunk"], f"{what}: chunk", 1, n)
            if d > m - t:
                raise v.Invalid(f"{what}: short_bits = {d} but only {m - t} mantissa bits are stored outside the symbol")
            fields = FIELDS + ("short",)
        if (distinct == 1) != (code_bits == 0) or (distinct > 1 and code_bits < n):
            raise v.Invalid(f"{what}: {code_bits} code bits for {n} weights and {distinct} distinct exponents")
        v.need_fields(arrays, what, fields)
        if d:
            k = num_chunks(n, chunk)
            v.need_array(arrays, "short", what, bitpack.packed_nbytes(k, 1))
            v.need_zero_padding(arrays["short"], k, 1, f"{what}: short")
            n_short = short_weights(np.unpackbits(arrays["short"], count=k).astype(bool), n, chunk)
        widths = field_bits(n, fmt, distinct, m, code_bits, block, t, d, chunk, n_short)
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
        d, chunk = meta.get("short_bits", 0), meta.get("chunk", 0)
        short = np.unpackbits(arrays["short"], count=num_chunks(n, chunk)).astype(bool) if d else np.zeros(0, bool)
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
            short_bits=d, chunk=chunk, short=short,
        )


def encode_bits(bits: np.ndarray, fmt: FloatFormat | str, mantissa_bits: int | None = None,
                max_len: int = DEFAULT_MAX_LEN, block: int = DEFAULT_BLOCK, head_bits: int | None = None,
                chunk: int | None = None) -> HuffmanTensor:
    """Entropy-code raw bit patterns of `fmt` (any shape), losslessly. None picks the cheapest: head
    bits, the narrowest lossless mantissa, short runs of one output row (`chunk=0`: no short runs)."""
    from . import kernels

    fmt = get_format(fmt)
    shape = tuple(int(d) for d in np.shape(bits))
    n = int(np.prod(shape, dtype=np.int64))
    if not 1 <= max_len <= MAX_LEN_LIMIT:
        raise PycompressError(f"maximum code length {max_len} outside 1..{MAX_LEN_LIMIT}")
    if block < 1:
        raise PycompressError(f"offset block {block} must be positive")
    plan = plan_code(np.asarray(bits).reshape(shape), fmt, mantissa_bits, max_len, block, head_bits, chunk)
    flat = np.ascontiguousarray(bits, dtype=fmt.uint_dtype).reshape(-1)
    m, t, d = plan.mantissa_bits, plan.head_bits, plan.short_bits
    p = _params(fmt, m, t)
    code_of = np.zeros(1 << (fmt.exponent_bits + t), np.uint32)
    len_of = np.zeros(code_of.size, np.uint8)
    code_of[plan.symbols] = canonical_codes(plan.lengths)
    len_of[plan.symbols] = plan.lengths
    code_bits = int((plan.counts * plan.lengths.astype(np.int64)).sum())
    n_short = short_weights(plan.short, n, plan.chunk) if d else 0
    out_code = np.zeros(bitpack.packed_nbytes(code_bits, 1), np.uint8)
    out_sign = np.zeros(bitpack.packed_nbytes(n, 1), np.uint8)
    out_mant = np.zeros(bitpack.packed_nbytes(n * p["mant_width"] - d * n_short, 1), np.uint8)
    offsets = np.zeros(num_offsets(n, block), np.int64)
    chunk_k, short_k = _runs(d, plan.chunk, plan.short)
    written = kernels.encode_streams(flat, p["sign_shift"], p["exp_shift"], p["exp_mask"], p["mant_drop"], p["mant_width"],
                                     code_of, len_of, block, chunk_k, short_k, d, out_code, out_sign, out_mant, offsets)
    if written != code_bits:
        raise PycompressError(f"internal error: wrote {written} code bits, planned {code_bits}")
    return HuffmanTensor(fmt.name, shape, plan.symbols.astype(np.uint16), plan.lengths, max_len, m, t, block, code_bits,
                         out_code, out_sign, out_mant, offsets, d, plan.chunk, plan.short)


def encode(tensor: torch.Tensor | np.ndarray, fmt: FloatFormat | str | None = None, **options) -> HuffmanTensor:
    """Encode a float tensor, first converted to `fmt` (round to nearest even) if given."""
    if isinstance(tensor, np.ndarray):
        tensor = torch.from_numpy(np.ascontiguousarray(tensor))
    if not tensor.is_floating_point():
        raise PycompressError(f"unsupported dtype {tensor.dtype}: entropy coding needs a floating tensor")
    if fmt is not None:
        tensor = tensor.detach().cpu().to(get_format(fmt).torch_dtype)
    return encode_bits(tensor_bits(tensor), format_of_dtype(tensor.dtype), **options)
