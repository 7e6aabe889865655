"""A point of the design space and the Pareto front: the data that the explorer, its storage and its
report share (kept apart so that none of them imports another for it)."""
from __future__ import annotations

from dataclasses import dataclass

from .cluster import EXPSHARE

Choice = int | str


@dataclass(frozen=True)
class Point:
    config: tuple[Choice, ...]  # one choice per weight tensor, in model order
    correct: int
    accuracy: float
    bits: int  # stored bits of the weight tensors (codebooks / exponent tables included)
    rate_fp32: float
    rate_bf16: float
    source: str
    lost: int = -1  # items the original answers right and this configuration wrong (-1: not recorded)
    gained: int = -1  # the reverse; with `lost`, the paired confidence bound on the drop (bound.py)

    def to_dict(self, names: tuple[str, ...]) -> dict:
        return {"config": dict(zip(names, self.config)), "accuracy": self.accuracy, "correct": self.correct,
                "bits": self.bits, "rate_fp32": self.rate_fp32, "rate_bf16": self.rate_bf16, "source": self.source,
                "lost": self.lost, "gained": self.gained}

    def drop_bound(self, images: int, confidence: float) -> float:
        """Upper confidence bound on the accuracy drop (points); inf when the paired counts were not recorded."""
        from .bound import drop_bound

        return drop_bound(self.lost, self.gained, images, confidence) if self.lost >= 0 <= self.gained else float("inf")


def within_bound(p: Point, images: int, max_drop: float, confidence: float) -> bool:
    return p.drop_bound(images, confidence) <= max_drop + 1e-9


def label(choice: Choice) -> str:
    return EXPSHARE if choice == EXPSHARE else f"k{int(choice)}"


def parse_label(text: str) -> Choice:
    return EXPSHARE if text == EXPSHARE else int(text[1:])


def pareto_front(points: list[Point]) -> list[Point]:
    """Points no other point beats on both compression and accuracy, by compression ascending."""
    ordered = sorted(points, key=lambda p: (-p.rate_fp32, -p.correct))
    front, best_correct = [], -1
    for p in ordered:
        if p.correct > best_correct:
            front.append(p)
            best_correct = p.correct
    return front[::-1]
