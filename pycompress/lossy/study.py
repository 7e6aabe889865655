"""`pycompress study`: the paper's lossy study (Alg. 1, 2, 4, Sec. 4.1.3, Table 3) on the default LeNet.

Runs every method on the same model and split, keeps every iteration's
container, and hands the figures to `study_report` for the Markdown report,
PNG figures, JSON and the headline .pcz models.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
from torch.utils.data import DataLoader, TensorDataset

from .approx import METHODS, SALIENCIES
from .baselines import BaselineResult, int8_ptq, magnitude_prune
from .esart import EsartConfig, esart
from .iterative import RunResult, Thresholds, iterative_approximation, progress
from pycompress.frontends.lenet import accuracy, load_lenet, mnist_split, torch_threads
from pycompress.frontends.evaluator import Training
from .mantissa import Constraint, bits_schedule, decimal_schedule, mantissa_approximation

LOSS_BUDGET = 0.5  # points: the target is >= 35% saved vs BF16 within this loss


@dataclass(frozen=True)
class StudyConfig:
    format: str = "bf16"
    max_drop: float = 10.0  # a_d of the paper's study
    epochs: int = 2  # ESART epochs per iteration
    lr: float = 1e-4
    batch: int = 64
    seed: int = 0
    quick: bool = False  # reduced study for tests: 1 epoch on 1,000 digits, two iterations per ESART run

    def to_dict(self) -> dict:
        return asdict(self)


def lenet_training(seed: int = 0, batch: int = 64, lr: float = 1e-4, limit: int | None = None) -> Training:
    """Train loader over the training digits (seeded shuffle), validation and test evaluators, Adam factory."""
    split = mnist_split()
    n = len(split.y_train) if limit is None else min(limit, len(split.y_train))
    data = TensorDataset(split.x_train[:n], split.y_train[:n])
    loader = DataLoader(data, batch_size=batch, shuffle=True, generator=torch.Generator().manual_seed(seed))
    return Training(loader, lambda m: accuracy(m, split, "validation"), lambda params: torch.optim.Adam(params, lr=lr),
                         lambda m: accuracy(m, split, "test"))


def lenet_eval(state_dict: dict) -> float:
    """Validation accuracy: what every lossy run stops on and selects by."""
    return accuracy(load_lenet(state_dict), part="validation")


def lenet_test(state_dict: dict) -> float:
    """Accuracy on the held-out test digits: reported beside, never used to select."""
    return accuracy(load_lenet(state_dict), part="test")


@dataclass(frozen=True)
class StudyResult:
    config: StudyConfig
    baseline_accuracy: float
    runs: dict[str, RunResult]
    families: dict[str, list[str]]  # headline family -> run names
    baselines: list[BaselineResult]  # accuracy on the test digits (nothing is selected for them)
    seconds: float
    baseline_test_accuracy: float


def _esart_runs(sd: dict, cfg: StudyConfig, base_fmt: str, th: Thresholds, show: bool) -> dict[str, RunResult]:
    fmt = base_fmt
    train = lenet_training(cfg.seed, cfg.batch, cfg.lr, limit=1000 if cfg.quick else None)
    cut = (lambda s: s[:2]) if cfg.quick else (lambda s: s)
    plans = {
        "esart decimal": (fmt, "epoch", cut(decimal_schedule(fmt))),
        "esart bits": (fmt, "epoch", cut(bits_schedule(fmt))),
        "esart bits+a2 i<=2": (fmt, "ste", cut(bits_schedule(fmt, exponent_method="a2", index_bits=2))),
    }
    if not cfg.quick:
        plans["esart decimal fp32"] = ("fp32", "epoch", decimal_schedule("fp32"))
        plans["esart bits fp32"] = ("fp32", "ste", [Constraint(mantissa_bits=m) for m in (16, 8, 4, 2, 1, 0)])
    out = {}
    for name, (f, projection, schedule) in plans.items():
        progress(f"{name}: ESART ({projection}), {len(schedule)} iterations x {cfg.epochs} epochs, {f}", show)
        torch.manual_seed(cfg.seed)
        out[name] = esart(load_lenet(sd), train.loader, train.evaluate, train.optimizer_factory, schedule,
                          EsartConfig(format=f, epochs=1 if cfg.quick else cfg.epochs, projection=projection, thresholds=th),
                          show=show, report=train.report)
    return out


def run_study(state_dict: dict, cfg: StudyConfig = StudyConfig(), show: bool = True) -> StudyResult:
    """Every lossy method of the paper on one model; progress on stderr."""
    with torch_threads(1, deterministic=True):
        return _run_study(state_dict, cfg, show)


def _run_study(state_dict: dict, cfg: StudyConfig, show: bool) -> StudyResult:
    start = time.perf_counter()
    fmt = cfg.format
    base, base_test = lenet_eval(state_dict), lenet_test(state_dict)
    th = Thresholds(max_drop=cfg.max_drop)
    judged = {"test_fn": lenet_test, "baseline_test_accuracy": base_test}
    progress(f"study: uncompressed LeNet-5 {base:.2f}% validation, {base_test:.2f}% test, storage {fmt}, "
             f"a_d {cfg.max_drop} pts (on validation)", show)
    runs: dict[str, RunResult] = {}
    for method in METHODS:
        for saliency in SALIENCIES:
            progress(f"Algorithm 1, {method.upper()} by {saliency}", show)
            runs[f"{method}-{saliency}"] = iterative_approximation(state_dict, fmt, method, saliency, lenet_eval, base, th,
                                                                   show=show, **judged)
    cut = (lambda s: s[:3]) if cfg.quick else (lambda s: s)
    if not cfg.quick:
        progress("Algorithm 1, A2 by magnitude, fp32 storage", show)
        runs["a2-magnitude fp32"] = iterative_approximation(state_dict, "fp32", "a2", "magnitude", lenet_eval, base, th,
                                                            show=show, **judged)
    progress("mantissa approximation (no retraining)", show)
    runs["mantissa decimal"] = mantissa_approximation(state_dict, fmt, decimal_schedule(fmt), lenet_eval, base, th, show,
                                                      **judged)
    if not cfg.quick:
        runs["mantissa decimal fp32"] = mantissa_approximation(state_dict, "fp32", decimal_schedule("fp32"), lenet_eval, base,
                                                               th, show, **judged)
    runs["mantissa bits"] = mantissa_approximation(state_dict, fmt, cut(bits_schedule(fmt)), lenet_eval, base, th, show,
                                                   **judged)
    runs["mantissa bits+a2 i<=2"] = mantissa_approximation(
        state_dict, fmt, cut(bits_schedule(fmt, exponent_method="a2", index_bits=2)), lenet_eval, base, th, show, **judged)
    runs.update(_esart_runs(state_dict, cfg, fmt, th, show))

    families = {
        "exponent approximation (Alg. 1)": [n for n in runs if n[:2] in METHODS],
        "mantissa approximation, no retraining": [n for n in runs if n.startswith("mantissa") and "+" not in n],
        "A2 + mantissa bits, no retraining": ["mantissa bits+a2 i<=2"],
        "ESART (Alg. 4)": [n for n in runs if n.startswith("esart")],
    }
    progress("baselines: magnitude pruning at ESART's savings, int8 PTQ", show)
    esart_bf16 = [runs[n] for n in families["ESART (Alg. 4)"] if runs[n].format == fmt]
    model = load_lenet(state_dict)
    split = mnist_split()
    baselines = []
    for budget in (0.0, LOSS_BUDGET):
        saving = max(r.records[r.pick(budget)].savings_pct for r in esart_bf16)
        res = magnitude_prune(model, saving, lambda m: accuracy(m, split), fmt)
        baselines.append(BaselineResult(f"{res.method} (= ESART saving at <= {budget:g} pts)", res.accuracy, res.savings_pct,
                                        res.weight_bits, res.original_bits, res.detail))
    calib = [split.x_train[i:i + 250] for i in range(0, 1000, 250)]
    baselines.append(int8_ptq(model, calib, split.x_train[:8], lambda m: accuracy(m, split), fmt))
    for b in baselines:
        progress(f"  {b.method}: {b.accuracy:.2f}%, {b.savings_pct:.2f}% saved", show)
    return StudyResult(cfg, base, runs, families, baselines, time.perf_counter() - start, base_test)
