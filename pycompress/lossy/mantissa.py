"""Mantissa approximation (Section 3.2 / 4.1.3) and the weight constraint ESART trains under.

Two ways to shorten the mantissa:
- decimal digits (the paper): `round(w, k)` then stored in the format (RNE);
- bit level (not in the paper): keep the top m' mantissa bits, round to
  nearest even on the raw bits, so the codec stores m' bits (Eq. 1 uses m').
A `Constraint` combines them with an optional exponent cap (A2/A3 to at most
2^index_bits salient exponents), applied in an order that keeps each property:
decimal rounding -> cast -> mantissa bits -> exponent approximation.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping

import numpy as np
import torch

from .approx import approximate_bits, check_method
from pycompress.compress import cast_state_dict, is_encoded
from pycompress.core.errors import PycompressError
from pycompress.core.formats import FloatFormat, bits_tensor, get_format, split_fields, tensor_bits, to_format
from .iterative import EvalFn, RunResult, StateDict, Thresholds, run_steps


def round_decimal(values: torch.Tensor, k: int, fmt: FloatFormat) -> torch.Tensor:
    """round(w, k) in float64 (numpy: half to even), then stored in `fmt` (RNE)."""
    rounded = np.round(values.detach().cpu().double().numpy(), int(k))
    return to_format(torch.from_numpy(rounded), fmt)


def round_mantissa_bits(bits: np.ndarray, fmt: FloatFormat, keep: int) -> np.ndarray:
    """Round raw bits to `keep` mantissa bits, nearest even; low bits become zero. Inf/NaN untouched.

    Carries propagate into the exponent as in any float rounding (the largest
    finite values may round to infinity, as a narrower format would). With
    m' = 0 a tie goes to the even encoding (exponent LSB 0).
    """
    if not 0 <= keep <= fmt.mantissa_bits:
        raise PycompressError(f"mantissa bits {keep} outside 0..{fmt.mantissa_bits} for {fmt.name}")
    bits = np.asarray(bits, dtype=fmt.uint_dtype)
    drop = fmt.mantissa_bits - keep
    if drop == 0:
        return bits.copy()
    ut = fmt.uint_dtype.type
    _, exponent, _ = split_fields(bits, fmt)
    special = exponent == fmt.max_exponent_field
    lsb = (bits >> ut(drop)) & ut(1)
    rounded = (bits + ut((1 << (drop - 1)) - 1) + lsb) & ~ut((1 << drop) - 1)
    return np.where(special, bits, rounded).astype(fmt.uint_dtype)


@dataclass(frozen=True)
class Constraint:
    """What the stored weights of every encoded layer must satisfy."""

    decimal_digits: int | None = None
    mantissa_bits: int | None = None
    exponent_method: str | None = None  # "a1" | "a2" | "a3"
    saliency: str = "magnitude"
    index_bits: int | None = None  # at most 2^index_bits exponents per layer

    def __post_init__(self) -> None:
        if self.exponent_method is not None:
            check_method(self.exponent_method, self.saliency)
            if self.index_bits is None or self.index_bits < 1:
                raise PycompressError("an exponent method needs index_bits >= 1")

    @property
    def label(self) -> str:
        parts = []
        if self.decimal_digits is not None:
            parts.append(f"k={self.decimal_digits}")
        if self.mantissa_bits is not None:
            parts.append(f"m'={self.mantissa_bits}")
        if self.exponent_method is not None:
            parts.append(f"{self.exponent_method}-{self.saliency[:3]} i<={self.index_bits}")
        return " ".join(parts) or "none"

    def to_dict(self) -> dict:
        return asdict(self)

    def apply(self, tensor: torch.Tensor, fmt: FloatFormat) -> np.ndarray:
        """Raw bits in `fmt` of `tensor` under the constraint."""
        t = round_decimal(tensor, self.decimal_digits, fmt) if self.decimal_digits is not None else to_format(tensor, fmt)
        bits = tensor_bits(t)
        if self.mantissa_bits is not None:
            bits = round_mantissa_bits(bits, fmt, self.mantissa_bits)
        if self.exponent_method is not None:
            bits = approximate_bits(bits, fmt, self.exponent_method, self.saliency, 1 << self.index_bits)
        return bits


def constrain_state_dict(state_dict: Mapping[str, torch.Tensor], fmt: str, constraint: Constraint) -> StateDict:
    """Encoded tensors under `constraint`, everything floating cast to `fmt`."""
    f = get_format(fmt)
    out = cast_state_dict(state_dict, f.name)
    for name, t in state_dict.items():
        if is_encoded(t, False):
            out[name] = bits_tensor(constraint.apply(t, f), f)
    return out


def decimal_schedule(fmt: str, k_start: int | None = None, k_stop: int = 0, **extra) -> list[Constraint]:
    """k from floor(log10(2^m)) (or `k_start`) down to `k_stop`, one digit per iteration."""
    f = get_format(fmt)
    start = f.decimal_digits if k_start is None else k_start
    if k_stop > start:
        raise PycompressError(f"decimal digits: stop k={k_stop} is above start k={start}")
    return [Constraint(decimal_digits=k, **extra) for k in range(start, k_stop - 1, -1)]


def bits_schedule(fmt: str, m_start: int | None = None, m_stop: int = 0, **extra) -> list[Constraint]:
    """m' from m-1 (or `m_start`) down to `m_stop`, one bit per iteration."""
    f = get_format(fmt)
    start = f.mantissa_bits - 1 if m_start is None else m_start
    if not 0 <= m_stop <= start <= f.mantissa_bits:
        raise PycompressError(f"mantissa bits: need 0 <= stop ({m_stop}) <= start ({start}) <= {f.mantissa_bits} for {f.name}")
    return [Constraint(mantissa_bits=m, **extra) for m in range(start, m_stop - 1, -1)]


def mantissa_approximation(state_dict: Mapping[str, torch.Tensor], fmt: str, schedule: list[Constraint],
                           eval_fn: EvalFn, baseline_accuracy: float, thresholds: Thresholds = Thresholds(),
                           show: bool = True, test_fn: EvalFn | None = None,
                           baseline_test_accuracy: float | None = None, keep_models: str = "all") -> RunResult:
    """Section 4.1.3 without retraining: each iteration shortens the mantissa by one more digit (or bit).

    `keep_models="best"` keeps only the chosen iteration's container (the command; the study keeps all)."""
    base = cast_state_dict(state_dict, get_format(fmt).name)
    steps = ((c.label, (lambda c=c: (constrain_state_dict(state_dict, fmt, c), c.mantissa_bits))) for c in schedule)
    variant = "bits" if schedule and schedule[0].mantissa_bits is not None else "decimal"
    params = {"variant": variant, "schedule": [c.to_dict() for c in schedule],
              "max_drop": thresholds.max_drop, "min_saving": thresholds.min_saving}
    return run_steps(f"mantissa-{variant}", params, fmt, base, baseline_accuracy, eval_fn, steps, thresholds, show,
                     stop_when_unchanged=False, test_fn=test_fn, baseline_test_accuracy=baseline_test_accuracy,
                     keep_models=keep_models)

