"""Floating-point storage formats, described once, with bit-exact field split/join.

Every other module (codec, accounting, HLS and RTL writers) reads widths and
biases from here, so a format is defined in exactly one place.
"""
from __future__ import annotations

from dataclasses import dataclass

from typing import TYPE_CHECKING

import numpy as np

from .errors import PycompressError

if TYPE_CHECKING:  # torch is imported where a tensor is touched: `pycompress --help` must not load it
    import torch


@dataclass(frozen=True)
class FloatFormat:
    name: str
    exponent_bits: int
    mantissa_bits: int
    dtype_name: str  # the torch dtype's attribute name (torch.float32, ...)

    @property
    def torch_dtype(self) -> "torch.dtype":
        import torch

        return getattr(torch, self.dtype_name)

    @property
    def total_bits(self) -> int:
        return 1 + self.exponent_bits + self.mantissa_bits

    @property
    def bias(self) -> int:
        return (1 << (self.exponent_bits - 1)) - 1

    @property
    def uint_dtype(self) -> np.dtype:
        return np.dtype(f"uint{self.total_bits}")

    @property
    def int_dtype(self) -> np.dtype:
        return np.dtype(f"int{self.total_bits}")

    @property
    def max_exponent_field(self) -> int:
        return (1 << self.exponent_bits) - 1

    @property
    def decimal_digits(self) -> int:
        """Starting k for decimal-digit rounding: floor(log10(2^m))."""
        return int(np.floor(self.mantissa_bits * np.log10(2.0)))


FP32 = FloatFormat("fp32", 8, 23, "float32")
BF16 = FloatFormat("bf16", 8, 7, "bfloat16")
FP16 = FloatFormat("fp16", 5, 10, "float16")
FP64 = FloatFormat("fp64", 11, 52, "float64")

FORMATS: dict[str, FloatFormat] = {f.name: f for f in (FP32, BF16, FP16, FP64)}


def get_format(name: str | FloatFormat) -> FloatFormat:
    if isinstance(name, FloatFormat):
        return name
    key = str(name).lower()
    if key not in FORMATS:
        raise PycompressError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    return FORMATS[key]


class StoredTensorShape:
    """What every storage scheme's tensor derives from its `format` name and `shape` (a mixin for
    the frozen dataclasses of codec, codebook and entropy schemes)."""

    format: str
    shape: tuple[int, ...]

    @property
    def fmt(self) -> FloatFormat:
        return get_format(self.format)

    @property
    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


def format_of_dtype(dtype: "torch.dtype") -> FloatFormat:
    for f in FORMATS.values():
        if dtype == f.torch_dtype:
            return f
    raise PycompressError(f"unsupported dtype {dtype}; supported: float32, bfloat16, float16, float64")


def to_format(values: torch.Tensor | np.ndarray, fmt: FloatFormat) -> torch.Tensor:
    """Convert floats to `fmt` the way torch does (round to nearest even)."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(values)) if isinstance(values, np.ndarray) else values
    if not t.is_floating_point():
        raise PycompressError(f"unsupported dtype {t.dtype}: expected a floating-point tensor")
    return t.detach().to("cpu").to(fmt.torch_dtype).contiguous()


def tensor_bits(t: torch.Tensor) -> np.ndarray:
    """Raw bit patterns of a floating tensor as an unsigned numpy array (no copy of values)."""
    import torch

    fmt = format_of_dtype(t.dtype)
    signed = {16: torch.int16, 32: torch.int32, 64: torch.int64}[fmt.total_bits]
    return t.detach().cpu().contiguous().view(signed).numpy().view(fmt.uint_dtype)


def bits_tensor(bits: np.ndarray, fmt: FloatFormat) -> torch.Tensor:
    """Inverse of `tensor_bits`: a tensor of `fmt` whose raw bits are `bits`."""
    import torch

    shape = np.shape(bits)  # ascontiguousarray turns a 0-d array into a 1-d one
    arr = np.ascontiguousarray(bits, dtype=fmt.uint_dtype).view(fmt.int_dtype).reshape(shape)
    return torch.from_numpy(arr.copy()).view(fmt.torch_dtype)


def split_fields(bits: np.ndarray, fmt: FloatFormat) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split raw bits into (sign, exponent, mantissa), each in the format's uint dtype."""
    bits = np.asarray(bits, dtype=fmt.uint_dtype)
    m, e = fmt.mantissa_bits, fmt.exponent_bits
    ut = fmt.uint_dtype.type
    sign = bits >> ut(m + e)
    exponent = (bits >> ut(m)) & ut((1 << e) - 1)
    mantissa = bits & ut((1 << m) - 1)
    return sign, exponent, mantissa


def join_fields(sign: np.ndarray, exponent: np.ndarray, mantissa: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Join fields back into raw bits; inverse of `split_fields` for every bit pattern."""
    ut = fmt.uint_dtype.type
    m, e = fmt.mantissa_bits, fmt.exponent_bits
    s = np.asarray(sign).astype(fmt.uint_dtype, copy=False)
    x = np.asarray(exponent).astype(fmt.uint_dtype, copy=False)
    mm = np.asarray(mantissa).astype(fmt.uint_dtype, copy=False)
    return (s << ut(m + e)) | (x << ut(m)) | mm
