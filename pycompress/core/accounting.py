"""Memory accounting by the paper's Eq. 1-4, plus the entropy bound of the exponent stream."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .formats import FloatFormat, get_format, split_fields


def index_bits_for(distinct: int) -> int:
    """i = max(1, ceil(log2 e)); the project keeps one bit for e < 3 (REFERENCE.md)."""
    return max(1, math.ceil(math.log2(distinct))) if distinct > 1 else 1


@dataclass(frozen=True)
class LayerStats:
    name: str
    format: str
    n: int
    distinct_exponents: int
    index_bits: int
    mantissa_bits: int
    original_bits: int
    compressed_bits: int
    exponent_entropy_bits: float  # Shannon entropy of the exponent stream, bits/weight
    entropy_bound_bits: int  # N*(1 + H + m) + l*e, what an ideal entropy coder of exponents could reach
    scheme: str = "expshare"  # how compressed_bits is stored ("cluster": N*ceil(log2 k) + k*bits)

    @property
    def savings_pct(self) -> float:
        return savings_pct(self.original_bits, self.compressed_bits)

    @property
    def eq1_bits(self) -> int:
        """What lossless exponent sharing (Eq. 1) would store, for comparison with other schemes."""
        return compressed_bits(self.n, self.distinct_exponents, get_format(self.format), self.mantissa_bits)

    def to_dict(self) -> dict:
        extra = {"eq1_bits": self.eq1_bits} if self.scheme == "huffman" else {}
        return {**asdict(self), "savings_pct": self.savings_pct, **extra}


@dataclass(frozen=True)
class ModelStats:
    format: str
    layers: tuple[LayerStats, ...]

    @property
    def original_bits(self) -> int:
        return sum(layer.original_bits for layer in self.layers)

    @property
    def compressed_bits(self) -> int:
        return sum(layer.compressed_bits for layer in self.layers)

    @property
    def savings_pct(self) -> float:
        return savings_pct(self.original_bits, self.compressed_bits)

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "n": sum(layer.n for layer in self.layers),
            "original_bits": self.original_bits,
            "compressed_bits": self.compressed_bits,
            "savings_pct": self.savings_pct,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def savings_pct(original_bits: int, compressed_bits: int) -> float:
    """Eq. 2."""
    return 100.0 * (original_bits - compressed_bits) / original_bits if original_bits else 0.0


def compressed_bits(n: int, distinct: int, fmt: FloatFormat, mantissa_bits: int | None = None) -> int:
    """Eq. 1: M_comp = N*(1 + i + m) + l*e."""
    m = fmt.mantissa_bits if mantissa_bits is None else mantissa_bits
    return n * (1 + index_bits_for(distinct) + m) + fmt.exponent_bits * distinct


def max_savings_pct(fmt: FloatFormat | str) -> float:
    """Fig. 7 / Eq. 4 as N -> infinity: one index bit, exponent field gone."""
    fmt = get_format(fmt)
    return 100.0 * (fmt.exponent_bits - 1) / fmt.total_bits


def exponent_histogram(bits: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    _, exponent, _ = split_fields(np.asarray(bits).reshape(-1), fmt)
    return np.bincount(exponent.astype(np.int64), minlength=1 << fmt.exponent_bits)


def layer_stats(name: str, bits: np.ndarray, fmt: FloatFormat | str, mantissa_bits: int | None = None) -> LayerStats:
    """Figures for one tensor given its raw bit patterns in `fmt`."""
    fmt = get_format(fmt)
    counts = exponent_histogram(bits, fmt)
    n = int(counts.sum())
    distinct = int(np.count_nonzero(counts))
    m = fmt.mantissa_bits if mantissa_bits is None else mantissa_bits
    p = counts[counts > 0] / n if n else np.zeros(0)
    entropy = float(-(p * np.log2(p)).sum()) if n else 0.0
    return LayerStats(
        name=name,
        format=fmt.name,
        n=n,
        distinct_exponents=distinct,
        index_bits=index_bits_for(distinct),
        mantissa_bits=m,
        original_bits=n * fmt.total_bits,
        compressed_bits=compressed_bits(n, distinct, fmt, m),
        exponent_entropy_bits=entropy,
        entropy_bound_bits=int(np.ceil(n * (1 + entropy + m))) + fmt.exponent_bits * distinct,
    )
