"""What the allocator may spend and what it is after: resources, the board's budget, the objective.

Each back end's cost table (cost_hls, cost_rtl) names its budget shares and its
objective; the one allocator (allocate.py) reads them, so changing what a back end
optimises is an edit of its table, not of the allocator.
"""
from __future__ import annotations

from dataclasses import dataclass

from pycompress.hw.board import Board


@dataclass(frozen=True)
class Resources:
    lut: int = 0
    ff: int = 0
    dsp: int = 0
    bram18k: int = 0

    def __add__(self, o: "Resources") -> "Resources":
        return Resources(self.lut + o.lut, self.ff + o.ff, self.dsp + o.dsp, self.bram18k + o.bram18k)


@dataclass(frozen=True)
class Shares:
    """The share of each board resource a back end may fill (None: not budgeted)."""

    dsp: float
    bram18k: float
    lut: float
    ff: float | None

    def describe(self, board: Board) -> str:
        kinds = {self.dsp, self.bram18k, self.lut} | ({self.ff} if self.ff is not None else set())
        return f"{kinds.pop():.0%} of the {board.name}" if len(kinds) == 1 else f"the budget of the {board.name}"


@dataclass(frozen=True)
class Budget:
    """Resource limits the allocator keeps a design within (whole units: a share of the board, rounded down)."""

    dsp: int
    bram18k: int
    lut: int
    ff: int | None = None  # None: flip-flops are not budgeted
    label: str = ""  # how notes name it, e.g. "70% of the zedboard"

    @classmethod
    def for_board(cls, board: Board, shares: Shares) -> "Budget":
        return cls(int(board.dsp48e1 * shares.dsp), int(board.bram18k * shares.bram18k), int(board.lut * shares.lut),
                   None if shares.ff is None else int(board.ff * shares.ff), shares.describe(board))

    def fits(self, r) -> bool:
        """`r`: anything with lut, ff, dsp and bram18k (Resources, an HLS KernelEstimate)."""
        return (r.dsp <= self.dsp and r.bram18k <= self.bram18k and r.lut <= self.lut
                and (self.ff is None or r.ff <= self.ff))

    def share(self, r) -> float:
        """The largest fraction of any budgeted resource `r` uses."""
        parts = [r.dsp / self.dsp, r.bram18k / self.bram18k, r.lut / self.lut]
        return max(parts + ([r.ff / self.ff] if self.ff is not None else []))


@dataclass(frozen=True)
class Objective:
    """What the allocator minimises and how it steps.

    `rule`: "best_ratio" tries every larger lane count of every free layer and takes the
    step that saves the most cycles per share of the budget it spends (a step must save
    `min_gain` of the cycles and keep the design within the budget); "slowest_first" gives
    the slowest free layer its next lane count until `target` is met or the step would not
    fit. `target`: stop once the cycles are at most this (None: go on while steps pay)."""

    rule: str
    min_gain: float = 0.0
    target: int | None = None
