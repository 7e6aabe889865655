"""Per-layer plans from sensitivity curves: a greedy allocation under a growing budget of predicted loss.

Each layer has settings ordered from least to most compressed (pruning ratios upward, codebook
sizes downward), each with the validation drop measured with that layer alone changed and the
compression it brings (weights pruned, bits saved). The drops are made non-decreasing along the
order (a running maximum: 500 digits give noisy single-layer drops), and the greedy repeatedly
takes the move -- one layer to a more compressed setting -- with the most compression per point
of predicted drop (half an item added to every cost, so free moves rank by size), as long as the
sum of predicted drops stays within the budget; when the best move does not fit, the plan stops
there rather than filling the budget with worse moves (a small layer pruned hard saves little). Plans for growing budgets are nested: each starts
where the previous stopped, which is what lets the pruning ladder reach each rung from the last.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LayerOptions:
    name: str
    settings: tuple[float, ...]  # least compressed first
    drop: tuple[float, ...]  # predicted validation drop (points) of each setting, this layer alone
    value: tuple[float, ...]  # compression of each setting (weights pruned, bits saved), increasing


def monotone(drop) -> np.ndarray:
    return np.maximum.accumulate(np.maximum(np.asarray(drop, dtype=np.float64), 0.0))


def greedy_plans(layers: list[LayerOptions], budgets: tuple[float, ...], eps: float) -> list[tuple[float, tuple[float, ...]]]:
    """(budget, setting per layer) for each budget in increasing order; a plan equal to the previous one is left out."""
    drops = [monotone(o.drop) for o in layers]
    values = [np.asarray(o.value, dtype=np.float64) for o in layers]
    pos = [0] * len(layers)
    spent, out, last = 0.0, [], None
    for budget in sorted(budgets):
        while True:
            best = None
            for li in range(len(layers)):
                here = pos[li]
                for j in range(here + 1, len(values[li])):
                    gain = values[li][j] - values[li][here]
                    cost = drops[li][j] - drops[li][here]
                    if gain <= 0:
                        continue
                    score = gain / (cost + eps)
                    if best is None or score > best[0]:
                        best = (score, li, j, cost)
            if best is None or spent + best[3] > budget + 1e-9:
                break
            _, li, j, cost = best
            pos[li] = j
            spent += cost
        plan = tuple(layers[li].settings[pos[li]] for li in range(len(layers)))
        if plan != last:
            out.append((budget, plan))
            last = plan
    return out
