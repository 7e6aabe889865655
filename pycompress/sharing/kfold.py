"""K-fold selection for `share`: the bound from every non-test item instead of one validation part.

With one validation part of 500 digits, a 90% upper bound on the drop stays above 0.5 points as soon
as a candidate loses two digits more than it gains; every compressed LeNet loses a few borderline
digits, so the bound, not the model, decides. K-fold evaluates the *recipe at one setting* on K
disjoint validation parts: fold 0 is the given model on the given split; fold j (1..K-1) takes the
j-th block of the training part (as large as the validation part) as its validation part, trains an
original on the rest with the model's own training recipe (the original must not have seen the digits
that judge it), and runs the same search on it. A candidate label ("prune 12 / k 0") names the same
setting in every fold (allowances of the plans, not per-layer values), so the paired counts of its K
candidates add up: n = K x 500 items, and the bound narrows by about sqrt(K).

What the bound then covers is the expected drop of that setting applied to a LeNet trained by the
recipe; the model written is fold 0's candidate at the chosen label (the given model's own). The test
part stays out of every choice; each fold's test figure is kept, so the report shows how the chosen
setting did on every fold's model (the honesty check of issue 25 on K splits).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Mapping

import torch

from pycompress.core.errors import PycompressError
from pycompress.frontends.datasets import Dataset
from .bound import Paired

MAX_FOLDS = 16


@dataclass(frozen=True)
class FoldCandidate:
    variant: str
    label: str
    rate: float
    val: Paired
    test: Paired


@dataclass(frozen=True)
class FoldOutcome:
    """One extra fold's search, reduced to what pooling and the report need."""

    fold: int
    baseline_val: Paired
    baseline_test: Paired
    candidates: tuple[FoldCandidate, ...]
    seconds: float


def fold_dataset(data: Dataset, fold: int, folds: int) -> Dataset:
    """Fold 0: `data` itself. Fold j: validation = block j-1 of the training part (validation-sized), training =
    the rest of the training part and the given validation part. The test part never moves."""
    check_folds(data, folds)
    if not 0 <= fold < folds:
        raise PycompressError(f"fold {fold} is not in 0..{folds - 1}")
    if fold == 0:
        return data
    nv = len(data.y_val)
    lo, hi = (fold - 1) * nv, fold * nv
    keep = torch.cat([torch.arange(0, lo), torch.arange(hi, len(data.y_train))])
    return Dataset(f"{data.name}-fold{fold}of{folds}", torch.cat([data.x_train[keep], data.x_val]),
                   torch.cat([data.y_train[keep], data.y_val]), data.x_train[lo:hi], data.y_train[lo:hi],
                   data.x_test, data.y_test, note=f"fold {fold} of {folds}: validation = training items {lo}..{hi - 1}")


def check_folds(data: Dataset, folds: int) -> None:
    if not 1 <= folds <= MAX_FOLDS:
        raise PycompressError(f"--folds must be in 1..{MAX_FOLDS}, not {folds}")
    nv, nt = len(data.y_val), len(data.y_train)
    if folds > 1 and (folds - 1) * nv > nt:
        raise PycompressError(f"--folds {folds}: {folds - 1} validation-sized blocks of {nv:,} items need "
                              f"{(folds - 1) * nv:,} training items; there are {nt:,}")


def pooled(main_val: Paired, extra: list[Paired | None]) -> Paired | None:
    """The paired counts of one label over every fold; None when a fold has no candidate of that label."""
    if any(p is None for p in extra):
        return None
    out = main_val
    for p in extra:
        out = Paired(out.n + p.n, out.correct + p.correct, out.lost + p.lost, out.gained + p.gained)
    return out


def index(outcomes: tuple[FoldOutcome, ...]) -> list[dict[tuple[str, str], FoldCandidate]]:
    return [{(c.variant, c.label): c for c in o.candidates} for o in outcomes]


# --- the extra folds' searches (each in its own process when --jobs > 1) ---------------------------------

def _lenet_recipe(data: Dataset) -> dict[str, torch.Tensor]:
    """The shipped LeNet's training recipe (`frontends.lenet.train`: 30 epochs, seed 0) on a fold's training part."""
    from pycompress.frontends.lenet import LeNet5, Split, train_model

    split = Split(data.x_train, data.y_train, data.x_val, data.y_val, data.x_test, data.y_test)
    model = train_model(LeNet5, 30, 0, split=split, progress=False)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def run_fold(data: Dataset, fold: int, folds: int, config, graph: dict | None,
             state: Mapping[str, torch.Tensor] | None = None):
    """One fold's search, one thread, deterministic: fold 0 on the given `state` (returns the whole
    ShareResult), any other fold on an original trained by the recipe (returns its FoldOutcome)."""
    from pycompress.frontends.evaluator import Task
    from pycompress.frontends.lenet import load_lenet, torch_threads
    from .share import run_share

    start = time.perf_counter()
    part = fold_dataset(data, fold, folds)

    def say(message: str) -> None:
        print(f"[fold {fold} {time.perf_counter() - start:6.1f}s] {message}", file=sys.stderr, flush=True)

    with torch_threads(1, deterministic=True):
        if fold != 0:
            state = _lenet_recipe(part)
            say(f"original trained on {len(part.y_train):,} items ({part.note})")
        result = run_share(state, Task(lambda sd: load_lenet(dict(sd)), part), config, say, graph=graph)
    if fold == 0:
        return result
    cands = tuple(FoldCandidate(c.variant, c.label, c.rate, c.val, c.test) for c in result.candidates)
    return FoldOutcome(fold, result.baseline_val, result.baseline_test, cands, time.perf_counter() - start)


def _quiet_worker() -> None:
    """A terminal's Ctrl-C reaches the workers too: they ignore it and the parent ends them (no tracebacks)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_folds(data: Dataset, folds: int, config, graph: dict | None, jobs: int, state: Mapping[str, torch.Tensor]):
    """Every fold's search of the built-in LeNet, in `jobs` processes (spawned: each starts clean and runs one
    thread; the results do not depend on `jobs`). Returns fold 0's ShareResult with the other folds in it."""
    from dataclasses import replace

    check_folds(data, folds)
    if jobs < 1:
        raise PycompressError(f"--jobs must be >= 1, not {jobs}")
    start = time.perf_counter()
    state = {k: v.detach().clone() for k, v in state.items()}
    if jobs == 1 or folds == 1:
        done = [run_fold(data, f, folds, config, graph, state if f == 0 else None) for f in range(folds)]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=min(jobs, folds), mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_quiet_worker)
        try:
            futures = [pool.submit(run_fold, data, f, folds, config, graph, state if f == 0 else None)
                       for f in range(folds)]
            done = [f.result() for f in futures]
        except BaseException:  # an interrupt or a failed fold: stop the other searches now, not when they end
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    return replace(done[0], folds=tuple(done[1:]), seconds=time.perf_counter() - start)


def fold_rows(result, variant: str, label: str) -> list[dict]:
    """Every fold's candidate of one label: validation and test counts (for the report's honesty table)."""
    rows = []
    main = next((c for c in result.candidates if c.variant == variant and c.label == label), None)
    if main is not None:
        rows.append({"fold": 0, "rate": main.rate, "validation": main.val.to_dict(), "test": main.test.to_dict()})
    for o, by in zip(result.folds, index(result.folds)):
        c = by.get((variant, label))
        if c is not None:
            rows.append({"fold": o.fold, "rate": c.rate, "validation": c.val.to_dict(), "test": c.test.to_dict()})
    return rows


def folds_summary(outcomes: tuple[FoldOutcome, ...]) -> Mapping[str, object]:
    return {"folds": [{"fold": o.fold, "baseline_validation": o.baseline_val.to_dict(),
                       "baseline_test": o.baseline_test.to_dict(), "seconds": round(o.seconds, 1)} for o in outcomes]}
