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

    def to_dict(self, names: tuple[str, ...]) -> dict:
        return {"config": dict(zip(names, self.config)), "accuracy": self.accuracy, "correct": self.correct,
                "bits": self.bits, "rate_fp32": self.rate_fp32, "rate_bf16": self.rate_bf16, "source": self.source}


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
