"""Lanes per MAC layer (P outputs per cycle): user-fixed, or chosen greedily to fit the board's budget.

In the spirit of FINN's folding and hls4ml's reuse factor: start every layer at
one lane and keep taking the step (a larger divisor of the layer's outputs)
that saves the most estimated cycles per fraction of the budget it uses, while
the whole kernel still fits and the step saves at least MIN_GAIN of the cycles. The budget is the device's DSPs, half its block
RAM (the other half is left to the DMA and the rest of a system) and 70% of its
LUTs and FFs, as read from boards/<board>/board.json.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from pycompress.hw.board import Board
from pycompress.core.errors import PycompressError
from .plan import KernelEstimate, KernelPlan, estimate_plan
from .schedule import mac_shape

BRAM_SHARE, LOGIC_SHARE = 0.5, 0.7
MIN_GAIN = 0.005  # a step must save at least this fraction of the kernel's cycles to be worth its resources


@dataclass(frozen=True)
class Budget:
    dsp: int
    bram18k: int
    lut: int
    ff: int

    @classmethod
    def for_board(cls, board: Board) -> "Budget":
        return cls(board.dsp48e1, int(board.bram18k * BRAM_SHARE), int(board.lut * LOGIC_SHARE), int(board.ff * LOGIC_SHARE))

    def fits(self, e: KernelEstimate) -> bool:
        return e.dsp <= self.dsp and e.bram18k <= self.bram18k and e.lut <= self.lut and e.ff <= self.ff

    def share(self, e: KernelEstimate) -> float:
        """The largest fraction of any budgeted resource the estimate uses."""
        return max(e.dsp / self.dsp, e.bram18k / self.bram18k, e.lut / self.lut, e.ff / self.ff)


def lane_options(layer: dict) -> list[int]:
    """Lane counts that divide the layer's outputs (each lane owns a block of outputs)."""
    outputs = mac_shape(layer)[0]
    return [p for p in range(1, outputs + 1) if outputs % p == 0]


def parse_parallel(spec: str | None) -> dict[str, int]:
    """`conv1=4,fc1=8`, or the path of a JSON object {"conv1": 4, ...}: model layer name -> lanes."""
    if not spec:
        return {}
    path = Path(spec)
    if spec.endswith(".json") or path.exists():  # a FIFO or device is refused unread (read_json_object)
        from pycompress.core.fileio import read_json_object

        data = read_json_object(path, "--parallel file", limit=1 << 20)
        if not isinstance(data, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in data.values()):
            raise PycompressError(f"--parallel {spec}: expected a JSON object of layer name -> integer lanes")
        return {str(k): int(v) for k, v in data.items()}
    out: dict[str, int] = {}
    for item in spec.split(","):
        name, sep, value = item.strip().rpartition("=")
        if not sep or not name or not value.strip().isdigit():
            raise PycompressError(f"--parallel: expected layer=lanes[,layer=lanes...], got {item.strip()!r}")
        out[name.strip()] = int(value)
    return out


def resolve_fixed(plan: KernelPlan, fixed: Mapping[str, int]) -> dict[str, int]:
    """Model layer names -> layer functions, each lane count checked against the layer."""
    by_name = {l["layer"]: l for l in plan.mac_layers()}
    out = {}
    for name, lanes in fixed.items():
        if name not in by_name:
            raise PycompressError(f"--parallel names {name!r}, which is not a conv2d/linear layer of the model "
                                  f"(layers: {', '.join(by_name) or 'none'})")
        layer = by_name[name]
        if lanes not in lane_options(layer):
            raise PycompressError(f"--parallel {name}={lanes}: lanes must divide the layer's {mac_shape(layer)[0]} outputs")
        out[layer["fn"]] = lanes
    return out


def allocate(plan: KernelPlan, budget: Budget, fixed: Mapping[str, int] | None = None) -> dict[str, int]:
    """Layer fn -> lanes. User-fixed layers keep theirs; the rest grow while the kernel fits `budget`."""
    fixed = resolve_fixed(plan, fixed or {})
    lanes = {l["fn"]: fixed.get(l["fn"], 1) for l in plan.mac_layers()}
    current = estimate_plan(plan, lanes)
    free = [l for l in plan.mac_layers() if l["fn"] not in fixed]
    while True:
        best, best_score = None, 0.0
        for layer in free:
            for p in lane_options(layer):
                if p <= lanes[layer["fn"]]:
                    continue
                trial = {**lanes, layer["fn"]: p}
                e = estimate_plan(plan, trial)
                saved = current.cycles - e.cycles
                if saved < MIN_GAIN * current.cycles or not budget.fits(e):
                    continue
                score = saved / max(budget.share(e) - budget.share(current), 1e-9)
                if score > best_score:
                    best, best_score = (trial, e), score
        if best is None:
            return lanes
        lanes, current = best
