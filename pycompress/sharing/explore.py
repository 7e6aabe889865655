"""Design-space exploration of per-layer sharing under an accuracy-loss bound (DDECS'20).

Each weight tensor gets one choice: clustering into k values (k from the grid) or lossless
exponent sharing. Two searches over the same cached layers (`sensitivity.LayerCache`):
a greedy one driven by the sensitivity curves, then Optuna's NSGA-II over
(compression, accuracy) with the bound as a constraint, seeded with the greedy answer,
then a hill-climbing polish of the best point within the bound.
The study lives in an Optuna storage (default a local SQLite file; any database URL such
as postgresql://... lets several machines add trials to one study). The chosen point is the
most compressed evaluated configuration within the bound.

Every search decision and the bound use the 500 validation digits; the test digits are
evaluated only for the points reported (chosen, greedy, Pareto front), never to select.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import torch

from .cluster import EXPSHARE, cluster_state_dict
from pycompress.core.container import CompressedModel
from pycompress.core.errors import PycompressError
from .explore_storage import (WorkerConfig, check_evaluation, merge_stored, open_shared_study, store_local_points,
    store_trial, storage_errors)
from .explore_workers import run_trials
from .points import Choice, Point, label, pareto_front, parse_label  # noqa: F401 (re-exported)
from .defaults import EXPLORE_POPULATION, EXPLORE_SEED, EXPLORE_TRIALS
from .sensitivity import DEFAULT_KS, LayerCache, ModelEvaluator, Sensitivity

Progress = Callable[[str], None] | None


@dataclass(frozen=True)
class ExploreConfig:
    max_drop: float = 0.5  # accuracy points
    trials: int = EXPLORE_TRIALS  # NSGA-II trials added by this run (0: greedy only)
    population: int = EXPLORE_POPULATION
    seed: int = EXPLORE_SEED
    ks: tuple[int, ...] = DEFAULT_KS
    codebook_format: str = "fp32"
    allow_expshare: bool = True  # second axis: lossless exponent sharing per layer
    method: str = "auto"  # clustering: exact DP where it fits, else k-means++ ("dp", "kmeans" to force)
    storage: str | None = None  # Optuna storage URL; None: in memory
    study_name: str | None = None  # None: derived from the model and these settings

    def __post_init__(self) -> None:
        if not (self.max_drop >= 0 and math.isfinite(self.max_drop)):
            raise PycompressError(f"--max-drop must be a finite number >= 0, not {self.max_drop}")
        if self.trials < 0 or self.population < 2:
            raise PycompressError("--trials must be >= 0 and the population >= 2")
        if not self.ks or any(not 2 <= k <= 256 for k in self.ks):
            raise PycompressError("every k must be in 2..256")

    @property
    def options(self) -> tuple[Choice, ...]:
        return ((EXPSHARE,) if self.allow_expshare else ()) + tuple(sorted(set(self.ks), reverse=True))


class Explorer:
    """Evaluates configurations (memoised) and remembers every point seen."""

    def __init__(self, cache: LayerCache, evaluator: ModelEvaluator, config: ExploreConfig) -> None:
        self.cache, self.evaluator, self.config = cache, evaluator, config
        self.names = cache.weights
        self.n = sum(cache.numel(name) for name in self.names)
        allowed = math.floor(config.max_drop * evaluator.n / 100 + 1e-9)
        self.min_correct = evaluator.baseline_correct - allowed
        self.points: dict[tuple[Choice, ...], Point] = {}

    def feasible(self, p: Point) -> bool:
        return p.correct >= self.min_correct

    def evaluate(self, config: tuple[Choice, ...], source: str) -> Point:
        if config not in self.points:
            replaced = {name: self.cache.decoded(name, c) for name, c in zip(self.names, config)}
            correct = self.evaluator.correct(replaced)
            bits = sum(self.cache.bits(name, c) for name, c in zip(self.names, config))
            self.points[config] = Point(config, correct, self.evaluator.accuracy(correct), bits,
                                        32 * self.n / bits, 16 * self.n / bits, source)
        return self.points[config]

    def record(self, p: Point) -> None:
        """A point evaluated elsewhere (another worker of a shared study)."""
        self.points.setdefault(p.config, p)


def greedy(ex: Explorer, sens: Sensitivity, progress: Progress = None) -> Point:
    """From the lossless point, repeatedly take the move (one layer to a smaller choice) that saves
    the most bits per point of accuracy the sensitivity curves predict it costs; keep it if the
    whole model stays within the bound, else rule out that choice and smaller ones for the layer."""
    options = ex.config.options
    base_acc = sens.baseline_accuracy
    eps = 50.0 / ex.evaluator.n  # half a test image: moves predicted free are ranked by bits saved

    def predicted(name: str, c: Choice) -> float:
        if c == EXPSHARE:
            return 0.0
        curve = sens.curve(name)
        return max(0.0, base_acc - curve.accuracy[curve.ks.index(c)]) if c in curve.ks else 0.0

    start = tuple(options[0] for _ in ex.names)
    best = ex.evaluate(start, "greedy")
    banned = {name: len(options) for name in ex.names}  # position from which choices are ruled out
    while True:
        moves = []
        for li, name in enumerate(ex.names):
            here = options.index(best.config[li])
            for pos in range(here + 1, banned[name]):
                c = options[pos]
                saved = ex.cache.bits(name, best.config[li]) - ex.cache.bits(name, c)
                if saved > 0:
                    cost = max(0.0, predicted(name, c) - predicted(name, best.config[li]))
                    moves.append((-saved / (cost + eps), li, pos))
        if not moves:
            return best
        _, li, pos = min(moves)
        trial = best.config[:li] + (options[pos],) + best.config[li + 1:]
        p = ex.evaluate(trial, "greedy")
        name = ex.names[li]
        if ex.feasible(p):
            best = p
        else:
            banned[name] = pos
        if progress:
            progress(f"greedy: {name} -> {label(options[pos])}: {p.accuracy:.1f}% {p.rate_fp32:.2f}x "
                     f"({'kept' if ex.feasible(p) else 'over the bound'})")


def polish(ex: Explorer, start: Point, progress: Progress = None) -> Point:
    """Hill-climb from a point within the bound: take the single-layer change that saves the most
    bits and stays within the bound, until none does (a few dozen cheap evaluations)."""
    options, best = ex.config.options, start
    while True:
        moves = []
        for li, name in enumerate(ex.names):
            for c in options:
                if ex.cache.bits(name, c) < ex.cache.bits(name, best.config[li]):
                    p = ex.evaluate(best.config[:li] + (c,) + best.config[li + 1:], "polish")
                    if ex.feasible(p):
                        moves.append((p.bits, -p.correct, tuple(map(label, p.config)), p))
        if not moves:
            return best
        best = min(moves)[-1]
        if progress:
            progress(f"polish: {best.rate_fp32:.2f}x at {best.accuracy:.1f}%")


def default_study_name(state_dict: dict[str, torch.Tensor], cfg: ExploreConfig) -> str:
    """Same model and settings -> same study, so workers sharing a storage URL meet in one study."""
    h = hashlib.sha256()
    for name, t in state_dict.items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    h.update(repr((cfg.max_drop, cfg.ks, cfg.codebook_format, cfg.allow_expshare)).encode())
    return f"pycompress-explore-{h.hexdigest()[:16]}"


def open_study(cfg: ExploreConfig, study_name: str, state_dict: dict[str, torch.Tensor],
               workers: WorkerConfig | None = None):
    """Create or join the study (opened before any work, so a bad storage URL or a study made with
    another model or settings fails fast); see explore_storage."""
    return open_shared_study(cfg, study_name, state_dict, workers or WorkerConfig())


def nsga(ex: Explorer, seeds: list[tuple[Choice, ...]], study, progress: Progress = None,
         workers: WorkerConfig | None = None) -> None:
    """Optuna NSGA-II over per-layer choices, maximising (compression vs FP32, accuracy), with the
    accuracy bound as a constraint. Adds `trials` trials to the (possibly shared) study, in
    `workers.jobs` processes, then records every completed trial of the study, other workers' included."""
    workers = workers or WorkerConfig()
    cfg, study_name, worker = ex.config, study.study_name, workers.name
    labels = [label(c) for c in cfg.options]
    with storage_errors(cfg.storage):
        for config in (seeds if not study.trials else ()):
            study.enqueue_trial({f"layer{li}": label(c) for li, c in enumerate(config)})
    done = [0]

    def objective(trial) -> tuple[float, float]:
        config = tuple(parse_label(trial.suggest_categorical(f"layer{li}", labels)) for li in range(len(ex.names)))
        p = ex.evaluate(config, "nsga")
        store_trial(trial, p, ex, worker)  # configuration and result, before the trial completes
        trial.set_constraint("accuracy_bound", float(ex.min_correct - p.correct))  # <= 0: within the bound
        done[0] += 1
        if progress and (done[0] % 10 == 0 or done[0] == cfg.trials):
            feas = [q for q in ex.points.values() if ex.feasible(q)]
            top = max(feas, key=lambda q: q.rate_fp32) if feas else None
            progress(f"nsga-ii: trial {done[0]}/{cfg.trials}, best within bound so far "
                     + (f"{top.rate_fp32:.2f}x at {top.accuracy:.1f}%" if top else "none"))
        return p.rate_fp32, p.accuracy

    try:
        run_trials(study, objective, cfg.trials, cfg, workers, progress)
    except ValueError as exc:  # e.g. a shared study created with another k grid
        raise PycompressError(f"study {study_name!r}: {str(exc).splitlines()[0]}") from None
    merge_stored(ex, study)  # other workers' (and --jobs processes') trials and points


def choose(ex: Explorer) -> Point:
    feasible = [p for p in ex.points.values() if ex.feasible(p)]
    if not feasible:
        raise PycompressError("no configuration within the accuracy bound was found")
    return max(feasible, key=lambda p: (p.rate_fp32, p.correct, tuple(map(label, p.config))))


@dataclass(frozen=True)
class ExploreResult:
    config: ExploreConfig
    names: tuple[str, ...]
    numel: tuple[int, ...]
    baseline_accuracy: float
    images: int  # validation digits the search selected on
    sensitivity: Sensitivity
    greedy: Point
    chosen: Point
    points: tuple[Point, ...]  # every evaluated configuration, in evaluation order
    front: tuple[Point, ...]
    study_name: str
    chosen_bits: tuple[int, ...]  # stored bits of each layer in the chosen configuration
    chosen_sizes: tuple[int, ...]  # codebook (or exponent table) size of each layer as stored
    baseline_test_accuracy: float = float("nan")  # held-out test digits: reported, never selected on
    test_accuracy: Mapping[tuple[Choice, ...], float] = field(default_factory=dict)  # reported points only
    test_images: int = 0

    def test_of(self, p: Point) -> float:
        return self.test_accuracy.get(p.config, float("nan"))


def explore(state_dict: dict[str, torch.Tensor], cfg: ExploreConfig, progress: Progress = None,
            workers: WorkerConfig | None = None, task=None) -> tuple[ExploreResult, LayerCache]:
    """`task` (evaluator.Task): the model and its data; None is the built-in LeNet-5 on mnist5k."""
    from .sensitivity import run_sensitivity

    workers = workers or WorkerConfig()
    name = cfg.study_name or default_study_name(state_dict, cfg)
    study = open_study(cfg, name, state_dict, workers) if cfg.trials else None
    cache = LayerCache(state_dict, cfg.codebook_format, "fp32", cfg.method, progress, k_max=max(cfg.ks))
    evaluator = ModelEvaluator(state_dict, "validation", task)
    sens = run_sensitivity(cache, evaluator, cfg.ks, progress)
    ex = Explorer(cache, evaluator, cfg)
    check_evaluation(study, ex)
    for k in cfg.ks:  # uniform reference points: every layer with the same k
        ex.evaluate(tuple(k for _ in ex.names), "uniform")
    g = greedy(ex, sens, progress)
    if progress:
        progress(f"greedy: {g.rate_fp32:.2f}x vs FP32 at {g.accuracy:.1f}% ({len(ex.points)} evaluations)")
    if study is not None:
        uniform = [tuple(k for _ in ex.names) for k in sorted(cfg.ks) if ex.feasible(ex.points[tuple(k for _ in ex.names)])]
        nsga(ex, [g.config] + uniform[:2], study, progress, workers)
    polish(ex, choose(ex), progress)
    store_local_points(study, ex, workers.name)
    points = tuple(ex.points.values())
    front, chosen = tuple(pareto_front(list(points))), choose(ex)
    tester = ModelEvaluator(state_dict, "test", task)
    tested = {p.config: tester.accuracy(tester.correct({n: cache.decoded(n, c) for n, c in zip(ex.names, p.config)}))
              for p in (g, chosen, *front)}
    result = ExploreResult(cfg, ex.names, tuple(cache.numel(n) for n in ex.names),
                           evaluator.accuracy(evaluator.baseline_correct), evaluator.n, sens, g, chosen,
                           points, front, name,
                           tuple(cache.bits(n, ch) for n, ch in zip(ex.names, chosen.config)),
                           tuple(_size(cache.encoded(n, ch)) for n, ch in zip(ex.names, chosen.config)),
                           tester.accuracy(tester.baseline_correct), tested, tester.n)
    return result, cache


def _size(st) -> int:
    return st.k if st.scheme == "cluster" else st.distinct_exponents


def chosen_model(result: ExploreResult, cache: LayerCache) -> CompressedModel:
    """The chosen configuration as a container (clustered and exponent-shared layers, biases raw)."""
    plan = dict(zip(result.names, result.chosen.config))
    prebuilt = {name: cache.encoded(name, c) for name, c in plan.items()}
    info = {"method": "weight sharing by clustering (DDECS'20), per-layer exploration",
            "codebook_format": result.config.codebook_format, "plan": {k: label(v) for k, v in plan.items()},
            "baseline_accuracy": result.baseline_accuracy, "accuracy": result.chosen.accuracy,
            "max_drop": result.config.max_drop, "rate_fp32": result.chosen.rate_fp32,
            "selected_on": f"validation ({result.images} digits)", "validation_images": result.images,
            "baseline_test_accuracy": result.baseline_test_accuracy, "test_accuracy": result.test_of(result.chosen),
            "test_images": result.test_images}
    return cluster_state_dict(cache.state_dict, plan, result.config.codebook_format, cache.base_format,
                              info=info, prebuilt=prebuilt)


def verify_written(path: str | Path, result: ExploreResult, task=None) -> float:
    """Re-read the written container, evaluate it from scratch on validation (equal to the search,
    within the bound) and on test (equal to the reported figure); returns the validation accuracy."""
    from pycompress.core import container

    reread = container.load(path).state_dict()
    ev = ModelEvaluator(reread, "validation", task)
    acc = ev.accuracy(ev.baseline_correct)
    if ev.baseline_correct != result.chosen.correct:
        raise PycompressError(f"internal error: {path} evaluates to {acc:.2f}%, the search measured {result.chosen.accuracy:.2f}%")
    if result.baseline_accuracy - acc > result.config.max_drop + 1e-9:
        raise PycompressError(f"internal error: {path} loses {result.baseline_accuracy - acc:.2f} points, over the bound")
    test = ModelEvaluator(reread, "test", task)
    if test.accuracy(test.baseline_correct) != result.test_of(result.chosen):
        raise PycompressError(f"internal error: {path} scores {test.accuracy(test.baseline_correct):.2f}% on the test digits, "
                              f"the report says {result.test_of(result.chosen):.2f}%")
    return acc
