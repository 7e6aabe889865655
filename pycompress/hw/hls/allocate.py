"""Lanes per MAC layer (P channel lanes x Q pixel lanes): user-fixed, or chosen greedily to fit the board's budget.

In the spirit of FINN's folding and hls4ml's reuse factor: start every layer at
one lane and keep taking the step (more channel lanes dividing the outputs, or
two pixel lanes on a conv whose rows they divide) that saves the most estimated
cycles per fraction of the budget it uses, while the whole kernel still fits and
the step saves at least MIN_GAIN of the objective: the sequential cycles, or
under --dataflow the interval between images (the slowest process). The budget
is the device's DSPs, half its block RAM (the other half is left to the DMA and
the rest of a system) and 70% of its LUTs and FFs, from boards/<board>/board.json.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from pycompress.hw.board import Board
from pycompress.core.errors import PycompressError
from .plan import KernelEstimate, KernelPlan, estimate_plan
from .schedule import PIXEL_LANES, mac_shape

Lanes = tuple[int, int]  # (channel lanes, pixel lanes)

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


def lane_options(layer: dict) -> list[Lanes]:
    """(channel lanes dividing the outputs, pixel lanes dividing a conv's rows), fewest units first."""
    outputs = mac_shape(layer)[0]
    pixel = [q for q in PIXEL_LANES if layer["op"] == "conv2d" and layer["ow"] % q == 0] or [1]
    return sorted(((p, q) for p in range(1, outputs + 1) if outputs % p == 0 for q in pixel), key=lambda x: (x[0] * x[1], x))


def objective(plan: KernelPlan, e: KernelEstimate) -> int:
    if plan.dataflow and e.chain:
        return e.dataflow_summary()["interval"]
    return e.cycles


def _lanes(value) -> Lanes | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, 1)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return (value[0], value[1])
    if isinstance(value, str):
        p, _, q = value.strip().partition("x")
        if p.isdigit() and (not q or q.isdigit()):
            return (int(p), int(q or 1))
    return None


def parse_parallel(spec: str | None) -> dict[str, Lanes]:
    """`conv1=6x2,fc1=8` (channel lanes x pixel lanes; x1 when left out), or the path of a JSON object
    {"conv1": [6, 2], "fc1": 8}: model layer name -> lanes."""
    if not spec:
        return {}
    path = Path(spec)
    if spec.endswith(".json") or path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PycompressError(f"--parallel {spec}: {exc}") from None
        if not isinstance(data, dict) or not all(_lanes(v) for v in data.values()):
            raise PycompressError(f"--parallel {spec}: expected a JSON object of layer name -> lanes (an integer or "
                                  "[channel lanes, pixel lanes])")
        return {str(k): _lanes(v) for k, v in data.items()}
    out: dict[str, Lanes] = {}
    for item in spec.split(","):
        name, sep, value = item.strip().rpartition("=")
        lanes = _lanes(value)
        if not sep or not name or lanes is None:
            raise PycompressError(f"--parallel: expected layer=lanes[xpixels][,layer=...], got {item.strip()!r}")
        out[name.strip()] = lanes
    return out


def resolve_fixed(plan: KernelPlan, fixed: Mapping[str, Lanes]) -> dict[str, Lanes]:
    """Model layer names -> layer functions, each lane count checked against the layer."""
    by_name = {l["layer"]: l for l in plan.mac_layers()}
    out = {}
    for name, lanes in fixed.items():
        if name not in by_name:
            raise PycompressError(f"--parallel names {name!r}, which is not a conv2d/linear layer of the model "
                                  f"(layers: {', '.join(by_name) or 'none'})")
        layer = by_name[name]
        lanes = _lanes(list(lanes) if isinstance(lanes, tuple) else lanes)
        if lanes is None:
            raise PycompressError(f"--parallel {name}: lanes must be a count or channels x pixels (e.g. 6x2)")
        if lanes[0] not in [p for p, _ in lane_options(layer)]:
            raise PycompressError(f"--parallel {name}={lanes[0]}: lanes must divide the layer's {mac_shape(layer)[0]} outputs")
        if lanes not in lane_options(layer):
            raise PycompressError(f"--parallel {name}={lanes[0]}x{lanes[1]}: pixel lanes are 1 or 2 (2 on a conv "
                                  "whose output rows they divide)")
        out[layer["fn"]] = lanes
    return out


def allocate(plan: KernelPlan, budget: Budget, fixed: Mapping[str, Lanes] | None = None) -> dict[str, Lanes]:
    """Layer fn -> (channel lanes, pixel lanes). User-fixed layers keep theirs; the rest grow while the kernel
    fits `budget`."""
    fixed = resolve_fixed(plan, fixed or {})
    lanes = {l["fn"]: fixed.get(l["fn"], (1, 1)) for l in plan.mac_layers()}
    current = estimate_plan(plan, lanes)
    free = [l for l in plan.mac_layers() if l["fn"] not in fixed]
    while True:
        best, best_score = None, 0.0
        now = objective(plan, current)
        for layer in free:
            have = lanes[layer["fn"]]
            for p in lane_options(layer):
                if p[0] * p[1] <= have[0] * have[1] or p[0] < have[0] or p[1] < have[1]:
                    continue
                trial = {**lanes, layer["fn"]: p}
                e = estimate_plan(plan, trial)
                saved = now - objective(plan, e)
                if saved < MIN_GAIN * now or not budget.fits(e):
                    continue
                score = saved / max(budget.share(e) - budget.share(current), 1e-9)
                if score > best_score:
                    best, best_score = (trial, e), score
        if best is None:
            return lanes
        lanes, current = best
