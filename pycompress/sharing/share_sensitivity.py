"""Judging models against the original (paired, per item) and the two sensitivity dimensions of v2:
pruning ratio and codebook size, one layer at a time, the others as they are, no retraining.

Each curve holds two measures. The validation accuracy drop is the figure the report shows (as
in DDECS'20). The plans (`share_plan.py`) are built from the second: disagreement with the
original -- the share of items whose top-1 answer changes -- over the training inputs (3,500 for the
LeNet split; `plan_inputs="validation+train"` adds the validation inputs, the earlier default), no
labels needed. On 500 validation items one
answer is 0.2 points, so one-layer drops are mostly noise; eight times the items resolve the
small losses that add up when every layer is changed. Neither measure involves the test part,
and selection itself (share.py) stays on validation alone; by default the plans never see the
validation inputs either (a paired test found no effect of that on the validation/test gap:
reports/share-kfold-honesty/PREREGISTERED-plan-inputs.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import torch
from torch import nn

from pycompress.core.errors import PycompressError

from .bound import Paired, paired
from .share_config import ShareConfig
from .prune import PrunedClusterer, prune

Progress = Callable[[str], None] | None


class Judge:
    """Per-item correctness on validation (selects) and test (reported only), paired with the original's."""

    def __init__(self, task, base_state: Mapping[str, torch.Tensor], plan_items: int | None = None,
                 plan_inputs: str = ShareConfig.plan_inputs) -> None:
        self.task = task
        self.probe = task.build(dict(base_state))
        self.base = {k: v.detach().clone() for k, v in self.probe.state_dict().items()}
        self.val_right = self._right(self.probe, "validation")
        self.test_right = self._right(self.probe, "test")
        xv, xt = task.data.part("validation")[0], task.data.part("train")[0]
        x = torch.cat([xv, xt]) if plan_inputs == "validation+train" else xt
        if len(x) == 0:
            raise PycompressError("the plans need inputs: the training part is empty")
        self.plan_x = x if plan_items is None else x[:plan_items]  # validation first when it is included
        self.plan_answers = self._answers(self.probe)

    def _answers(self, model: nn.Module) -> torch.Tensor:
        from pycompress.frontends.lenet import predict

        return predict(model, self.plan_x)

    def disagreement(self, state: Mapping[str, torch.Tensor]) -> float:
        """Points of training and validation inputs whose top-1 answer differs from the original's."""
        return 100.0 * float((self._answers(self.load(state)) != self.plan_answers).double().mean())

    def _right(self, model: nn.Module, part: str) -> torch.Tensor:
        from pycompress.frontends.lenet import predict

        x, y = self.task.data.part(part)
        return predict(model, x) == y

    def load(self, state: Mapping[str, torch.Tensor]) -> nn.Module:
        """The probe module holding the original's tensors with `state` over them."""
        full = {**self.base, **{k: v for k, v in state.items() if k in self.base}}
        self.probe.load_state_dict({k: v.to(self.base[k].dtype) for k, v in full.items()})
        return self.probe.eval()

    def val(self, state: Mapping[str, torch.Tensor]) -> Paired:
        return paired(self.val_right, self._right(self.load(state), "validation"))

    def both(self, state: Mapping[str, torch.Tensor]) -> tuple[Paired, Paired]:
        m = self.load(state)
        return paired(self.val_right, self._right(m, "validation")), paired(self.test_right, self._right(m, "test"))

    @property
    def baseline(self) -> tuple[Paired, Paired]:
        return paired(self.val_right, self.val_right), paired(self.test_right, self.test_right)


@dataclass(frozen=True)
class Curve:
    """One layer changed, per setting: validation drop and disagreement with the reference (points)."""

    name: str
    n: int
    settings: tuple[float, ...]  # pruning ratios or codebook sizes
    drop: tuple[float, ...]
    disagree: tuple[float, ...]

    def to_dict(self) -> dict:
        return {"name": self.name, "n": self.n, "settings": list(self.settings), "drop": list(self.drop),
                "disagreement": list(self.disagree)}


def _measure(judge: Judge, ref: Paired, ref_disagree: float, state: Mapping[str, torch.Tensor]) -> tuple[float, float]:
    return ref.accuracy - judge.val(state).accuracy, judge.disagreement(state) - ref_disagree


def prune_curves(judge: Judge, state: Mapping[str, torch.Tensor], names: tuple[str, ...], ratios: tuple[float, ...],
                 progress: Progress = None) -> tuple[Curve, ...]:
    ref, ref_d = judge.val(state), judge.disagreement(state)
    out = []
    for name in names:
        m = [_measure(judge, ref, ref_d, {**state, name: prune(state[name], r)}) for r in ratios]
        out.append(Curve(name, state[name].numel(), tuple(ratios), tuple(a for a, _ in m), tuple(b for _, b in m)))
        if progress:
            progress(f"pruning sensitivity {name}: " + " ".join(f"{r:g}:{d:+.1f}/{g:.2f}" for r, (d, g) in zip(ratios, m)))
    return tuple(out)


def cluster_curves(judge: Judge, state: Mapping[str, torch.Tensor], names: tuple[str, ...], ks: tuple[int, ...],
                   codebook_format: str, progress: Progress = None) -> tuple[tuple[Curve, ...], dict[str, PrunedClusterer]]:
    """One layer clustered at a time (its zeros kept as one entry); also returns the clusterers for reuse."""
    ref, ref_d = judge.val(state), judge.disagreement(state)
    out, clusterers = [], {}
    for name in names:
        c = clusterers[name] = PrunedClusterer(state[name], max(ks))
        m = [_measure(judge, ref, ref_d, {**state, name: c.clustered(k, codebook_format).decode()}) for k in ks]
        out.append(Curve(name, state[name].numel(), tuple(float(k) for k in ks), tuple(a for a, _ in m),
                         tuple(b for _, b in m)))
        if progress:
            progress(f"codebook sensitivity {name}: " + " ".join(f"k={k}:{d:+.1f}/{g:.2f}" for k, (d, g) in zip(ks, m)))
    return tuple(out), clusterers
