"""Running NSGA-II trials: in this process, or in `--jobs N` forked worker processes.

The parent has already loaded the model, the test images and every layer's clustered variants
(`LayerCache`) and evaluated the greedy search; the children are forked from it, so they share
that memory copy-on-write and start evaluating at once. Each child opens its own connection to
the study's storage (no database connection crosses the fork), uses its own sampler seed, runs
its share of the trials with one torch thread per job, and names itself `WORKER/jobI` in the
trials it stores. The parent then reads every completed trial back from the storage.
"""
from __future__ import annotations

import os
import sys
from typing import Callable

from pycompress.core.errors import PycompressError
from .explore_storage import WorkerConfig, make_storage, set_current_worker, storage_errors


def _dispose(study) -> None:
    """Close the parent's pooled connections so that no socket is shared with a child."""
    backend = getattr(study._storage, "_backend", study._storage)
    engine = getattr(backend, "engine", None)
    if engine is not None:
        engine.dispose()


def shares(trials: int, jobs: int) -> list[int]:
    return [trials // jobs + (i < trials % jobs) for i in range(jobs)]


def run_trials(study, objective: Callable, trials: int, cfg, workers: WorkerConfig, progress=None) -> None:
    """Add `trials` trials to the study, in `workers.jobs` processes."""
    url = cfg.storage
    if workers.jobs <= 1 or trials <= 1:
        _optimize(study, objective, trials, url)
        return
    if url is None:
        raise PycompressError("--jobs needs a storage URL (the worker processes share the study through it)")
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    _dispose(study)
    name = workers.name
    procs = []
    for i, n in enumerate(shares(trials, workers.jobs)):
        if n:
            p = ctx.Process(target=_child, args=(i, n, study.study_name, objective, cfg, workers, f"{name}/job{i}"),
                            name=f"explore-job{i}", daemon=False)
            p.start()
            procs.append(p)
    if progress:
        progress(f"nsga-ii: {trials} trials in {len(procs)} worker processes")
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        raise
    failed = [p.name for p in procs if p.exitcode != 0]
    if failed:
        raise PycompressError(f"{', '.join(failed)} failed (exit {', '.join(str(p.exitcode) for p in procs if p.exitcode)}); "
                              "its completed trials are in the study")


def _child(i: int, n: int, study_name: str, objective: Callable, cfg, workers: WorkerConfig, name: str) -> None:
    import optuna
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers.jobs))
    set_current_worker(name)
    try:
        sampler = optuna.samplers.NSGAIISampler(population_size=cfg.population, seed=cfg.seed * 1009 + i + 1)
        with storage_errors(cfg.storage):
            study = optuna.load_study(study_name=study_name, storage=make_storage(cfg.storage, workers.heartbeat),
                                      sampler=sampler)
        _optimize(study, objective, n, cfg.storage)
    except PycompressError as exc:
        print(f"pycompress: error: {name}: {exc}", file=sys.stderr, flush=True)
        os._exit(2)
    except BaseException as exc:  # noqa: BLE001 - a child never prints a traceback wall
        print(f"pycompress: error: {name}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        os._exit(1)
    sys.stderr.flush()
    os._exit(0)


def _optimize(study, objective: Callable, n: int, url: str | None) -> None:
    with storage_errors(url):
        study.optimize(objective, n_trials=n)
