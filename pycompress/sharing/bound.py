"""How far a compressed model's accuracy may really lie below the original's, from one finite data part.

Both models answer the same n items, so the drop is a paired difference: only the items one gets
right and the other wrong (`lost`: the original right, the compressed wrong; `gained`: the reverse)
carry information. The one-sided upper bound is the Agresti-Min adjusted Wald interval for paired
proportions (Agresti and Min, Biometrics 2005: 0.5 added to each cell of the 2x2 table), which
stays sensible with zero or few discordant items, where the plain Wald interval collapses to a point.
A configuration is selected only if this bound meets the allowed drop; the test part never selects.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import torch

from pycompress.core.errors import PycompressError

from .defaults import DEFAULT_CONFIDENCE  # noqa: F401 (re-exported)
from .share_config import check_confidence  # noqa: F401 (re-exported)



@dataclass(frozen=True)
class Paired:
    """Outcomes of a model against the original's on the same n items."""

    n: int
    correct: int
    lost: int  # items the original gets right and this model wrong
    gained: int  # items this model gets right and the original wrong

    @property
    def accuracy(self) -> float:
        return 100.0 * self.correct / self.n

    @property
    def drop(self) -> float:
        """Observed accuracy drop in points (negative: better than the original)."""
        return 100.0 * (self.lost - self.gained) / self.n

    def upper(self, confidence: float) -> float:
        """One-sided upper confidence bound on the drop, in points."""
        return drop_bound(self.lost, self.gained, self.n, confidence)

    def predicted(self, future_n: int, confidence: float) -> float:
        """One-sided upper bound on the drop a part of `future_n` new items would show, in points."""
        return prediction_bound(self.lost, self.gained, self.n, future_n, confidence)

    def to_dict(self, confidence: float | None = None) -> dict:
        d = {"n": self.n, "correct": self.correct, "accuracy": self.accuracy, "lost": self.lost, "gained": self.gained,
             "drop": self.drop}
        if confidence is not None:
            d["drop_bound"] = self.upper(confidence)
        return d


def paired(base_right: torch.Tensor, right: torch.Tensor) -> Paired:
    """Compare per-item correctness (bool vectors of equal length)."""
    if base_right.shape != right.shape or base_right.numel() == 0:
        raise PycompressError("paired outcomes need two non-empty vectors of one length")
    return Paired(int(right.numel()), int(right.sum()), int((base_right & ~right).sum()), int((~base_right & right).sum()))


def drop_bound(lost: int, gained: int, n: int, confidence: float) -> float:
    """Upper bound (points) on the true accuracy drop at one-sided `confidence` (Agresti-Min)."""
    check_confidence(confidence)
    if n <= 0 or lost < 0 or gained < 0 or lost + gained > n:
        raise PycompressError(f"invalid paired counts: lost {lost}, gained {gained} of {n}")
    z = NormalDist().inv_cdf(confidence)
    b, c, m = lost + 0.5, gained + 0.5, n + 2
    var = ((b + c) - (b - c) ** 2 / m) / m ** 2
    return 100.0 * ((b - c) / m + z * math.sqrt(max(var, 0.0)))


def prediction_bound(lost: int, gained: int, n: int, future_n: int, confidence: float) -> float:
    """Upper bound (points) on the drop that `future_n` new items will show, at one-sided `confidence`.

    The confidence bound above is on the true drop; a test part of `future_n` items measures that drop
    with its own sampling error, of the same paired form. Both add: var * (1/m + 1/future_n), with the
    per-item discordance estimated from the n items (Agresti-Min cells)."""
    check_confidence(confidence)
    if n <= 0 or future_n <= 0 or lost < 0 or gained < 0 or lost + gained > n:
        raise PycompressError(f"invalid paired counts: lost {lost}, gained {gained} of {n} (future {future_n})")
    z = NormalDist().inv_cdf(confidence)
    b, c, m = lost + 0.5, gained + 0.5, n + 2
    per_item = (b + c) / m - ((b - c) / m) ** 2  # variance of one item's paired difference
    return 100.0 * ((b - c) / m + z * math.sqrt(max(per_item, 0.0) * (1 / m + 1 / future_n)))

