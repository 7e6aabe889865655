"""ESART: exponent-share aware retraining (Algorithm 4) for any PyTorch model.

Each iteration retrains under a tighter `Constraint` (decimal digits k, k
decreasing, as in the paper; or top m' mantissa bits; optionally with an
A2/A3 exponent cap). Two ways to apply the constraint while training:
- "epoch" (the paper, Alg. 4 lines 11-15): constrain the weights at the start
  of every epoch, then train the epoch in full precision;
- "ste": every step runs forward/backward on the constrained weights and
  applies the gradient to full-precision shadow weights (straight-through).
Either way the last constraint is applied after the last training step, and
the accuracy recorded is that of the decoded container that is exported.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from torch import nn

from pycompress.compress import is_encoded
from pycompress.core.errors import PycompressError
from pycompress.core.formats import bits_tensor, get_format
from .iterative import RunResult, StateDict, Thresholds, progress, run_steps
from .mantissa import Constraint, constrain_state_dict

PROJECTIONS = ("epoch", "ste")


@dataclass(frozen=True)
class EsartConfig:
    format: str = "bf16"
    epochs: int = 3  # training epochs per iteration (E in Alg. 4)
    projection: str = "epoch"
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        get_format(self.format)
        if self.projection not in PROJECTIONS:
            raise PycompressError(f"unknown projection {self.projection!r}; choose one of {', '.join(PROJECTIONS)}")
        if self.epochs < 1:
            raise PycompressError(f"epochs must be >= 1, got {self.epochs}")


def _targets(model: nn.Module) -> list[nn.Parameter]:
    return [p for _, p in model.named_parameters() if is_encoded(p.detach(), False)]


@torch.no_grad()
def _project_(params: list[nn.Parameter], constraint: Constraint, fmt) -> None:
    for p in params:
        p.copy_(bits_tensor(constraint.apply(p.detach(), fmt).reshape(tuple(p.shape)), fmt).to(p.dtype))


def _load_into(template: nn.Module, state_dict: StateDict, assign: bool = False) -> nn.Module:
    """`template` holding `state_dict` (cast to its dtypes); `assign` takes the cast tensors instead of copying them."""
    ref = template.state_dict()
    template.load_state_dict({k: v.to(ref[k].dtype) for k, v in state_dict.items()}, assign=assign)
    return template


def _probe(model: nn.Module) -> tuple[nn.Module, bool]:
    """The module the decoded iterations are evaluated in: weightless when `_load_into(..., assign=True)` can fill
    every tensor (no copy of a large model), else a deep copy; and whether to assign."""
    from pycompress.frontends import _weightless

    empty = _weightless(model)
    return (copy.deepcopy(model), False) if empty is None else (empty, True)


def train_under(model: nn.Module, train_loader: Iterable, optimizer: torch.optim.Optimizer, constraint: Constraint,
                fmt: str, epochs: int, projection: str, loss_fn: Callable, show: bool = True) -> None:
    """Retrain `model` in place for `epochs` under `constraint` (its weights stay full precision)."""
    f = get_format(fmt)
    params = _targets(model)
    for epoch in range(epochs):
        model.train()
        if projection == "epoch":
            _project_(params, constraint, f)
        total, count, t0 = 0.0, 0, time.perf_counter()
        for x, y in train_loader:
            saved = None
            if projection == "ste":
                saved = [p.detach().clone() for p in params]
                _project_(params, constraint, f)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            if saved is not None:
                with torch.no_grad():
                    for p, s in zip(params, saved):
                        p.copy_(s)
            optimizer.step()
            total += float(loss.detach()) * len(y)
            count += len(y)
        progress(f"    epoch {epoch + 1}/{epochs} ({constraint.label}): loss {total / max(count, 1):.4f} "
                 f"({time.perf_counter() - t0:.1f}s)", show)
    model.eval()


def esart(model: nn.Module, train_loader: Iterable, evaluate: Callable[[nn.Module], float],
          optimizer_factory: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer], schedule: list[Constraint],
          config: EsartConfig = EsartConfig(), loss_fn: Callable | None = None, show: bool = True,
          report: Callable[[nn.Module], float] | None = None, keep_models: str = "all", in_place: bool = False) -> RunResult:
    """Algorithm 4 on a copy of `model` (on `model` itself when `in_place`); returns records and the container of the
    last successful iteration.

    `evaluate` (validation data) stops the run and picks the iteration; `report` (held-out data) is only recorded.
    `keep_models="best"` keeps only that iteration's container (the command; the study keeps all)."""
    if not schedule:
        raise PycompressError("ESART needs at least one constraint in its schedule")
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    work = model if in_place else copy.deepcopy(model)
    probe, assign = _probe(model)
    baseline = float(evaluate(work))

    def judged(fn: Callable[[nn.Module], float], sd: StateDict) -> float:
        acc = float(fn(_load_into(probe, sd, assign)))
        if assign:  # hand the decoded tensors back: training the next iteration does not hold them
            probe.to("meta")
        return acc

    def eval_fn(sd: StateDict) -> float:
        return judged(evaluate, sd)

    def test_fn(sd: StateDict) -> float:
        return judged(report, sd)

    def step(c: Constraint):
        def make():
            train_under(work, train_loader, optimizer_factory(work.parameters()), c, config.format, config.epochs,
                        config.projection, loss_fn, show)
            return constrain_state_dict(work.state_dict(), config.format, c), c.mantissa_bits
        return c.label, make

    params = {"epochs": config.epochs, "projection": config.projection, "schedule": [c.to_dict() for c in schedule],
              "max_drop": config.thresholds.max_drop, "min_saving": config.thresholds.min_saving}
    # the start copy is passed, not held: run_steps drops it once cast to the format (one model less at the peak)
    return run_steps(f"esart-{config.projection}", params, config.format,
                     {k: v.detach().clone() for k, v in work.state_dict().items()}, baseline, eval_fn,
                     (step(c) for c in schedule), config.thresholds, show, stop_when_unchanged=False,
                     test_fn=test_fn if report else None,
                     baseline_test_accuracy=float(report(work)) if report else None, keep_models=keep_models)
