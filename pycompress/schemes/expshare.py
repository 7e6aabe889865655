"""Lossless exponent sharing (Algorithm 3): sign / index / mantissa fields + exponent table.

`encode` works on raw bit patterns, so every value survives: -0.0, subnormals,
infinities and NaN payloads are ordinary exponent fields. The mantissa may be
stored narrower than the format (`mantissa_bits`), for models whose low
mantissa bits were zeroed by the bit-level mantissa approximation; the codec
refuses to drop a bit that is set.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from pycompress.core import bitpack
from pycompress.core import validate as v
from pycompress.core.errors import PycompressError
from pycompress.core.accounting import index_bits_for
from pycompress.core.container import register_scheme
from pycompress.core.formats import (FloatFormat, StoredTensorShape, bits_tensor, format_of_dtype, get_format,
    join_fields, split_fields, tensor_bits)


@register_scheme
@dataclass(frozen=True, eq=False)
class ExpShareTensor(StoredTensorShape):
    """One tensor stored by exponent sharing; arrays are the packed fields."""

    format: str
    shape: tuple[int, ...]
    exponent_table: np.ndarray  # uint16, ascending exponent fields
    index_bits: int
    mantissa_bits: int  # stored mantissa width (<= format's)
    sign: np.ndarray  # uint8, packed 1 bit/value
    index: np.ndarray  # uint8, packed index_bits/value
    mantissa: np.ndarray  # uint8, packed mantissa_bits/value

    scheme = "expshare"

    @property
    def distinct_exponents(self) -> int:
        return int(self.exponent_table.size)

    def stored_bits(self) -> int:
        """Eq. 1: N*(1 + i + m) + l*e."""
        return self.numel * (1 + self.index_bits + self.mantissa_bits) + self.fmt.exponent_bits * self.distinct_exponents

    def fields(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unpacked (sign, index, mantissa) per weight, in storage order; what the hardware tables hold."""
        n, fmt = self.numel, self.fmt
        sign = bitpack.unpack(self.sign, 1, n, fmt.uint_dtype)
        index = bitpack.unpack(self.index, self.index_bits, n, fmt.uint_dtype)
        mantissa = bitpack.unpack(self.mantissa, self.mantissa_bits, n, fmt.uint_dtype) if self.mantissa_bits else np.zeros(n, fmt.uint_dtype)
        return sign, index, mantissa

    def decode_bits(self) -> np.ndarray:
        fmt = self.fmt
        sign, index, mantissa = self.fields()
        if index.size and int(index.max()) >= max(self.distinct_exponents, 1):
            raise PycompressError(f"corrupt tensor: index {int(index.max())} beyond exponent table of {self.distinct_exponents}")
        table = self.exponent_table.astype(fmt.uint_dtype)
        exponent = table[index] if index.size else index
        shift = fmt.uint_dtype.type(fmt.mantissa_bits - self.mantissa_bits)
        return join_fields(sign, exponent, mantissa << shift, fmt).reshape(self.shape)

    def decode(self) -> torch.Tensor:
        return bits_tensor(self.decode_bits(), self.fmt)

    # container hooks: arrays and JSON-able metadata, and back
    def arrays(self) -> dict[str, np.ndarray]:
        return {"exponent_table": self.exponent_table.astype("<u2"), "sign": self.sign, "index": self.index, "mantissa": self.mantissa}

    def meta(self) -> dict:
        return {"format": self.format, "shape": list(self.shape), "index_bits": self.index_bits, "mantissa_bits": self.mantissa_bits}

    @classmethod
    def validate_stored(cls, arrays: dict[str, np.ndarray], meta: dict, what: str) -> None:
        """Container hook: every field typed and in range, every byte length exact, every index in the table."""
        v.need_keys(meta, what, ("format", "shape", "index_bits", "mantissa_bits"))
        fmt = v.need_format(meta["format"], f"{what}: format")
        n = math.prod(v.need_shape(meta["shape"], f"{what}: shape"))
        ibits = v.need_int(meta["index_bits"], f"{what}: index_bits", 1, fmt.exponent_bits)
        mbits = v.need_int(meta["mantissa_bits"], f"{what}: mantissa_bits", 0, fmt.mantissa_bits)
        v.need_fields(arrays, what, ("exponent_table", "sign", "index", "mantissa"))
        table = arrays["exponent_table"]
        if table.dtype != np.uint16 or not 1 <= table.size <= 1 << ibits:
            raise v.Invalid(f"{what}: exponent table of {table.size} {table.dtype} entries, expected 1..{1 << ibits} uint16")
        if int(table.max()) > fmt.max_exponent_field:
            raise v.Invalid(f"{what}: exponent table value {int(table.max())} beyond the {fmt.name} exponent field "
                            f"(0..{fmt.max_exponent_field})")
        if table.size > 1 and not bool(np.all(table[1:] > table[:-1])):
            raise v.Invalid(f"{what}: exponent table is not strictly ascending")
        for key, width in (("sign", 1), ("index", ibits), ("mantissa", mbits)):
            v.need_array(arrays, key, what, bitpack.packed_nbytes(n, width))
            v.need_zero_padding(arrays[key], n, width, f"{what}: {key}")
        if table.size < 1 << ibits and v.packed_max(arrays["index"], ibits, n) >= table.size:
            raise v.Invalid(f"{what}: an index points beyond the exponent table of {table.size}")

    @classmethod
    def from_stored(cls, arrays: dict[str, np.ndarray], meta: dict) -> "ExpShareTensor":
        return cls(
            format=get_format(meta["format"]).name,
            shape=tuple(int(d) for d in meta["shape"]),
            exponent_table=np.asarray(arrays["exponent_table"], np.uint16),
            index_bits=int(meta["index_bits"]),
            mantissa_bits=int(meta["mantissa_bits"]),
            sign=arrays["sign"],
            index=arrays["index"],
            mantissa=arrays["mantissa"],
        )


def exponent_presence(exponent: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Boolean table over every exponent field value: which ones occur (O(N), no sort)."""
    present = np.zeros(1 << fmt.exponent_bits, bool)
    present[exponent] = True
    return present


def encode_bits(bits: np.ndarray, fmt: FloatFormat | str, mantissa_bits: int | None = None) -> ExpShareTensor:
    """Exponent-share raw bit patterns of `fmt` (any shape)."""
    fmt = get_format(fmt)
    shape = tuple(int(d) for d in np.shape(bits))  # before ascontiguousarray, which makes 0-d arrays 1-d
    bits = np.ascontiguousarray(bits, dtype=fmt.uint_dtype)
    flat = bits.reshape(-1)
    keep = fmt.mantissa_bits if mantissa_bits is None else int(mantissa_bits)
    if not 0 <= keep <= fmt.mantissa_bits:
        raise PycompressError(f"mantissa_bits {keep} outside 0..{fmt.mantissa_bits} for {fmt.name}")
    sign, exponent, mantissa = split_fields(flat, fmt)
    drop = fmt.mantissa_bits - keep
    if drop:
        low = mantissa & fmt.uint_dtype.type((1 << drop) - 1)
        if low.any():
            raise PycompressError(f"cannot store {keep} mantissa bits losslessly: low {drop} bits are not zero")
        mantissa = mantissa >> fmt.uint_dtype.type(drop)
    present = exponent_presence(exponent, fmt)
    table = np.flatnonzero(present).astype(np.uint16)
    ibits = index_bits_for(table.size)
    lut = np.zeros(present.size, np.uint16)
    lut[table] = np.arange(table.size, dtype=np.uint16)
    index = lut[exponent]
    return ExpShareTensor(
        format=fmt.name,
        shape=shape,
        exponent_table=table,
        index_bits=ibits,
        mantissa_bits=keep,
        sign=bitpack.pack(sign, 1),
        index=bitpack.pack(index, ibits),
        mantissa=bitpack.pack(mantissa, keep) if keep else np.zeros(0, np.uint8),
    )


def encode(tensor: torch.Tensor | np.ndarray, fmt: FloatFormat | str | None = None, mantissa_bits: int | None = None) -> ExpShareTensor:
    """Encode a float tensor, first converted to `fmt` (round to nearest even) if given."""
    if isinstance(tensor, np.ndarray):
        tensor = torch.from_numpy(np.ascontiguousarray(tensor))
    if not tensor.is_floating_point():
        raise PycompressError(f"unsupported dtype {tensor.dtype}: exponent sharing needs a floating tensor")
    if fmt is not None:
        tensor = tensor.detach().cpu().to(get_format(fmt).torch_dtype)
    target = format_of_dtype(tensor.dtype)
    return encode_bits(tensor_bits(tensor), target, mantissa_bits)
