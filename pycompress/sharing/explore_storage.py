"""The exploration study in a shared Optuna storage: what is stored, checks, and rebuilding from it.

Several `pycompress explore` workers (processes or machines) add trials to one study. What makes
the storage alone enough to rebuild the result:

- study user attribute `pycompress` (the fingerprint): schema, SHA-256 of the model's tensors,
  the weight tensor names and sizes, and the settings that change what a configuration scores
  (bound, k grid, codebook format, exponent sharing, clustering method). A worker whose
  fingerprint differs is refused with one line naming the first difference.
- study user attribute `evaluation`: the baseline (correct answers, images, the smallest
  number of correct answers within the bound), written by the first worker, checked by the others.
- trial user attributes, written before the trial completes: `point` (the configuration and
  everything `Point.to_dict` holds), `correct`, `bits`, `worker`.
- study user attribute `points:<worker>`: the points a worker evaluated outside NSGA-II
  (uniform k, greedy, polish), written at the end of its run.

Only COMPLETE trials count: a trial whose worker died is RUNNING until a heartbeat check marks
it FAIL (and queues it once more), so a killed worker never leaves a half-recorded result.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import re
import socket
import threading
import time
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch

from pycompress.core.errors import PycompressError
from .bound import DEFAULT_CONFIDENCE
from .points import Point, label, pareto_front
from .stale_trials import storage_class

SCHEMA = 1
FINGERPRINT_KEY = "pycompress"
EVALUATION_KEY = "evaluation"
POINTS_PREFIX = "points:"


@dataclass(frozen=True)
class WorkerConfig:
    jobs: int = 1  # trials in parallel worker processes (fork after loading)
    worker: str | None = None  # name in the trials' `worker` attribute; None: host:pid
    heartbeat: int = 30  # seconds; a RUNNING trial without a heartbeat for 3x this is failed

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise PycompressError("--jobs must be >= 1")
        if self.heartbeat < 1:
            raise PycompressError("--heartbeat must be >= 1 second")

    @property
    def name(self) -> str:
        return self.worker or f"{socket.gethostname()}:{os.getpid()}"


_current_worker: list[str] = []  # set per process (a --jobs child names itself NAME/jobI)


def current_worker(default: str) -> str:
    return _current_worker[-1] if _current_worker else default


def set_current_worker(name: str) -> None:
    _current_worker[:] = [name]


def hide_password(url: str | None) -> str:
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url or "in-memory")


def database_error(exc: BaseException) -> BaseException | None:
    """The database's own error behind exc (the most telling one), or None when it is not one."""
    import optuna

    chain, e = [], exc
    while e is not None and e not in chain:
        chain.append(e)
        e = e.__cause__ or e.__context__
    db = [e for e in chain if (type(e).__module__ or "").startswith(("sqlalchemy", "psycopg"))]
    if db:
        return db[-1]
    return exc if isinstance(exc, optuna.exceptions.StorageInternalError) else None


@contextmanager
def storage_errors(url: str | None) -> Iterator[None]:
    """Database errors (server gone, connection refused) as one line instead of a traceback."""
    try:
        yield
    except PycompressError:
        raise
    except Exception as exc:  # noqa: BLE001 - sorted below
        if (e := database_error(exc)) is not None:
            first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), type(e).__name__)
            raise PycompressError(f"lost the Optuna storage {hide_password(url)}: {type(e).__name__}: {first}") from None
        raise


def _heartbeat_hook(args, _previous=threading.excepthook) -> None:
    """Optuna records heartbeats in a thread of its own; when the server goes away that thread dies
    with a traceback. The main thread meets the same loss at its next storage call and says it in
    one line, so the heartbeat thread's database error is not printed."""
    frames = traceback.extract_tb(args.exc_traceback) if args.exc_traceback else []
    if (any(f.name == "_record_heartbeat" for f in frames) and args.exc_value is not None
            and database_error(args.exc_value) is not None):
        return
    _previous(args)


def quiet_optuna() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failed-trial warnings carry tracebacks
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")


def make_storage(url: str | None, heartbeat: int):
    """RDB storage with heartbeats (stale RUNNING trials failed and retried once); None: in memory."""
    if url is None:
        return None
    import optuna

    quiet_optuna()
    threading.excepthook = _heartbeat_hook
    engine_kwargs = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    for attempt in range(4):
        try:
            return storage_class()(  # RDBStorage, a trial killed before its first heartbeat counted stale
                url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat, grace_period=3 * heartbeat,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1))
        except Exception as exc:
            # Workers starting together on an empty database race to create Optuna's tables: the
            # losers see a unique-key violation, or (PostgreSQL) an enum type that already exists;
            # by the next attempt the tables are there.
            if attempt == 3 or not schema_race(exc):
                raise
            time.sleep(0.5 + random.random())


def schema_race(exc: BaseException) -> bool:
    """An error a worker gets when another one created the same table or type a moment before."""
    text = repr(exc)
    return any(key in text for key in ("IntegrityError", "UniqueViolation", "DuplicateObject", "DuplicateTable"))


def model_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name, t in state_dict.items():
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode() + str(t.dtype).encode())
        h.update(t.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def fingerprint(state_dict: dict[str, torch.Tensor], cfg) -> dict:
    from pycompress.compress import is_encoded

    weights = [name for name, t in state_dict.items() if is_encoded(t, False)]
    return {"schema": SCHEMA, "model_sha256": model_sha256(state_dict),
            "weights": weights, "numel": [state_dict[n].numel() for n in weights],
            "max_drop": cfg.max_drop, "ks": sorted(set(cfg.ks)), "codebook_format": cfg.codebook_format,
            "allow_expshare": cfg.allow_expshare, "method": cfg.method, "confidence": cfg.confidence}


def _mismatch(study_name: str, there: dict, here: dict) -> str | None:
    for key in sorted(set(there) | set(here)):
        a, b = there.get(key), here.get(key)
        if a != b:
            if key == "model_sha256":
                return (f"study {study_name!r} was made with another model (sha256 {str(a)[:12]}... there, "
                        f"{str(b)[:12]}... here); use another --study-name")
            return f"study {study_name!r} was made with {key}={a} (this worker: {key}={b}); use the same settings or another --study-name"
    return None


def open_shared_study(cfg, study_name: str, state_dict: dict[str, torch.Tensor], workers: WorkerConfig):
    """Create or join the study; refuse one made with another model or settings."""
    import optuna

    quiet_optuna()
    sampler = optuna.samplers.NSGAIISampler(population_size=cfg.population, seed=cfg.seed)
    try:
        storage = make_storage(cfg.storage, workers.heartbeat)
        study = optuna.create_study(storage=storage, sampler=sampler, study_name=study_name,
                                    directions=["maximize", "maximize"], load_if_exists=True)
    except Exception as exc:  # bad URL, missing driver, unreachable server
        raise PycompressError(f"cannot open the Optuna storage {hide_password(cfg.storage)!r}: "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    here = fingerprint(state_dict, cfg)
    with storage_errors(cfg.storage):
        there = study.user_attrs.get(FINGERPRINT_KEY)
        if there is None:
            if study.trials:
                raise PycompressError(f"study {study_name!r} holds trials but no pycompress fingerprint: "
                                      "not made by this version; use another --study-name")
            study.set_user_attr(FINGERPRINT_KEY, here)
        elif (msg := _mismatch(study_name, there, here)):
            raise PycompressError(msg)
    return study


def check_evaluation(study, ex) -> None:
    """The baseline every worker measures must agree (same data, same model, same arithmetic)."""
    if study is None:
        return
    here = {"baseline_correct": int(ex.evaluator.baseline_correct), "images": int(ex.evaluator.n),
            "min_correct": int(ex.min_correct), "baseline_accuracy": ex.evaluator.accuracy(ex.evaluator.baseline_correct),
            "data": getattr(ex.evaluator, "part", "test")}  # the images the search selects on
    with storage_errors(_url(study)):
        there = study.user_attrs.get(EVALUATION_KEY)
        if there is None:
            study.set_user_attr(EVALUATION_KEY, here)
        elif (msg := _mismatch(study.study_name, {k: there.get(k) for k in ("baseline_correct", "images", "min_correct")},
                               {k: here[k] for k in ("baseline_correct", "images", "min_correct")})):
            raise PycompressError(msg.replace("was made with", "measured"))


def _url(study) -> str | None:
    storage = getattr(study._storage, "_backend", study._storage)
    url = getattr(storage, "url", None)
    return str(url) if url is not None else None


def store_trial(trial, p, ex, worker: str) -> None:
    """Everything the report needs, on the trial, before Optuna marks it COMPLETE."""
    trial.set_user_attr("point", p.to_dict(ex.names))
    trial.set_user_attr("correct", p.correct)
    trial.set_user_attr("bits", p.bits)
    trial.set_user_attr("worker", current_worker(worker))


def point_from_dict(d: dict, names: tuple[str, ...]):

    kw = {f.name: d[f.name] for f in dataclasses.fields(Point) if f.name in d}
    kw["config"] = tuple(d["config"][n] for n in names)
    return Point(**kw)


def store_local_points(study, ex, worker: str) -> None:
    """This worker's points evaluated outside NSGA-II (uniform, greedy, polish)."""
    if study is None:
        return
    local = [p.to_dict(ex.names) for p in ex.points.values() if p.source != "nsga"]
    with storage_errors(_url(study)):
        study.set_user_attr(POINTS_PREFIX + worker, local)


def merge_stored(ex, study) -> None:
    """Every other worker's result into this explorer: completed trials and their local points."""
    if study is None:
        return
    for p in stored_points(study, tuple(ex.names)):
        ex.record(p)


def stored_points(study, names: tuple[str, ...]) -> list:
    import optuna

    with storage_errors(_url(study)):
        trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        attrs = study.user_attrs
    points = []
    for t in trials:
        if "point" in t.user_attrs:
            points.append(point_from_dict(t.user_attrs["point"], names))
    for key in sorted(attrs):
        if key.startswith(POINTS_PREFIX):
            points.extend(point_from_dict(d, names) for d in attrs[key])
    return points


# ---- rebuilding the result from the storage alone (`pycompress explore-report`) ----

@dataclass(frozen=True)
class Rebuilt:
    study_name: str
    fingerprint: dict
    evaluation: dict
    points: tuple  # distinct configurations, first stored first
    front: tuple
    chosen: object | None
    states: dict[str, int]
    workers: dict[str, int]  # completed trials per worker
    stale_failed: int  # RUNNING trials without a heartbeat, marked FAIL by this report


def choose_point(points, images: int, max_drop: float, confidence: float):
    """Same rule as explore.choose: the most compressed configuration whose upper bound on the drop meets max_drop."""
    from .points import within_bound

    feasible = [p for p in points if within_bound(p, images, max_drop, confidence)]
    return max(feasible, key=lambda p: (p.rate_fp32, p.correct, tuple(map(label, p.config))), default=None)


def rebuild(url: str, study_name: str, heartbeat: int = 30) -> Rebuilt:
    import optuna


    try:
        storage = make_storage(url, heartbeat)
        with storage_errors(url):
            names = optuna.get_all_study_names(storage)
            if study_name not in names:
                raise PycompressError(f"no study {study_name!r} in {hide_password(url)} "
                                      f"(studies there: {', '.join(names[:5]) or 'none'})")
            study = optuna.load_study(study_name=study_name, storage=storage)
    except PycompressError:
        raise
    except Exception as exc:
        raise PycompressError(f"cannot open the Optuna storage {hide_password(url)!r}: {str(exc).splitlines()[0]}") from None
    fp, ev = study.user_attrs.get(FINGERPRINT_KEY), study.user_attrs.get(EVALUATION_KEY)
    if fp is None or ev is None:
        raise PycompressError(f"study {study_name!r} was not made by pycompress explore (no fingerprint or baseline stored)")
    with storage_errors(url):
        before = sum(t.state == optuna.trial.TrialState.RUNNING for t in study.get_trials(deepcopy=False))
        optuna.storages.fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)
    running = sum(t.state == optuna.trial.TrialState.RUNNING for t in trials)
    names = tuple(fp["weights"])
    unique: dict = {}
    for p in stored_points(study, names):
        unique.setdefault(p.config, p)
    points = tuple(unique.values())
    states: dict[str, int] = {}
    workers: dict[str, int] = {}
    for t in trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
        if t.state == optuna.trial.TrialState.COMPLETE:
            w = t.user_attrs.get("worker", "?")
            workers[w] = workers.get(w, 0) + 1
    return Rebuilt(study_name, fp, ev, points, tuple(pareto_front(list(points))),
                   choose_point(points, int(ev["images"]), fp["max_drop"], fp.get("confidence", DEFAULT_CONFIDENCE)),
                   states, dict(sorted(workers.items())),
                   max(0, before - running))


def rebuilt_dict(r: Rebuilt) -> dict:
    names = tuple(r.fingerprint["weights"])
    return {"study_name": r.study_name, "settings": {k: v for k, v in r.fingerprint.items() if k != "numel"},
            "evaluation": r.evaluation, "trials": r.states, "workers": r.workers, "stale_failed": r.stale_failed,
            "points": len(r.points), "pareto_front": [p.to_dict(names) for p in r.front],
            "chosen": r.chosen.to_dict(names) if r.chosen is not None else None}


def rebuilt_text(r: Rebuilt) -> str:
    from pycompress.core.report import table

    names = tuple(r.fingerprint["weights"])
    ev = r.evaluation
    data = ev.get("data", "selection")
    lines = [f"study {r.study_name!r}: {ev['baseline_accuracy']:.2f}% baseline on {ev['images']:,} {data} images, "
             f"bound {r.fingerprint['max_drop']:g} points; trials "
             + ", ".join(f"{k.lower()} {v}" for k, v in sorted(r.states.items()))
             + (f" ({r.stale_failed} stale running trial(s) marked failed)" if r.stale_failed else ""),
             "completed trials per worker: " + (", ".join(f"{w} {n}" for w, n in r.workers.items()) or "none"),
             f"Pareto front over {len(r.points)} stored configurations (choices in the order {', '.join(names)}):"]
    rows = [[f"{p.rate_fp32:.2f}x", f"{p.rate_bf16:.2f}x", f"{p.accuracy:.2f}", " ".join(label(x) for x in p.config), p.source]
            for p in r.front]
    lines.append(table(["vs FP32", "vs BF16", f"{data} acc %", "choices", "found by"], rows))
    c = r.chosen
    if c is None:
        lines.append("chosen: none within the bound yet")
    else:
        conf = r.fingerprint.get("confidence", DEFAULT_CONFIDENCE)
        lines.append(f"chosen: {c.rate_fp32:.2f}x vs FP32 ({c.rate_bf16:.2f}x vs BF16) at {c.accuracy:.2f}% "
                     f"on {data} (drop {ev['baseline_accuracy'] - c.accuracy:.2f}, upper {conf:.0%} bound "
                     f"{c.drop_bound(int(ev['images']), conf):.2f} <= {r.fingerprint['max_drop']:g}); per layer: "
                     + ", ".join(f"{n}={label(x)}" for n, x in zip(names, c.config)))
    return "\n".join(lines)
