"""Iterative driver (Algorithm 1) and the per-iteration records shared by every lossy method.

A lossy run is a sequence of steps; each step yields the weights of one
iteration (already in the storage format). The driver builds the container
that will be exported, evaluates *its decoded weights* (so the recorded
accuracy is that of the exported model) with the selection function (validation
data) and, when given, a report function (held-out test data, never used to
stop or choose), records memory by Eq. 1 from the
stored tables, and stops when memory saved <= m_s or accuracy drop > a_d.
The result is the last successful iteration (iteration 0 = lossless sharing).
"""
from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Iterable, Mapping

import numpy as np
import torch

from .approx import approximate_bits, check_method, index_target
from pycompress.schemes.expshare import encode_bits, index_bits_for
from pycompress.compress import CompressConfig, cast_state_dict, compress_state_dict, is_encoded
from pycompress.core.container import CompressedModel
from pycompress.core.formats import bits_tensor, get_format, split_fields, tensor_bits, to_format

StateDict = dict[str, torch.Tensor]
EvalFn = Callable[[StateDict], float]


@dataclass(frozen=True)
class IterationRecord:
    iteration: int
    label: str
    accuracy: float
    drop: float  # baseline accuracy - accuracy, in points
    savings_pct: float  # Eq. 2 against the storage format
    savings_fp32_pct: float  # the same tables against FP32 storage of the weights
    approximated_pct: float  # % of encoded weights whose bits differ from the format-cast input
    index_bits: dict[str, int]
    distinct_exponents: dict[str, int]
    mantissa_bits: int
    compressed_bits: int
    original_bits: int
    seconds: float
    accepted: bool
    test_accuracy: float | None = None  # on held-out data: reported, never used to stop or choose

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RunResult:
    method: str
    params: dict
    format: str
    baseline_accuracy: float
    records: tuple[IterationRecord, ...]
    best: int  # position in `records` of the last successful iteration
    models: tuple[CompressedModel, ...] = field(repr=False, compare=False)  # one per record
    baseline_test_accuracy: float | None = None

    @property
    def best_record(self) -> IterationRecord:
        return self.records[self.best]

    def pick(self, max_drop: float) -> int:
        """Position of the accepted record saving the most memory with drop <= max_drop (0: lossless)."""
        ok = [j for j, r in enumerate(self.records) if r.accepted and r.drop <= max_drop + 1e-9]
        return max(ok, key=lambda j: (self.records[j].savings_pct, -j)) if ok else 0

    def to_dict(self) -> dict:
        return {"method": self.method, "params": self.params, "format": self.format,
                "baseline_accuracy": self.baseline_accuracy, "baseline_test_accuracy": self.baseline_test_accuracy,
                "best": self.best,
                "records": [r.to_dict() for r in self.records]}


@dataclass(frozen=True)
class Thresholds:
    """Algorithm 1, line 18: stop when memory saved <= min_saving or drop > max_drop (points)."""

    max_drop: float = 10.0
    min_saving: float = 0.0


def progress(message: str, enabled: bool = True) -> None:
    if enabled:
        print(message, file=sys.stderr, flush=True)


def build_container(state_dict: Mapping[str, torch.Tensor], fmt: str, mantissa_bits: int | None = None,
                    info: dict | None = None) -> CompressedModel:
    """Exponent-share a model already in `fmt`; `mantissa_bits` stores only the top m' bits (Eq. 1 uses m')."""
    from pycompress.frontends.graph_builtin import infer_graph  # the lossy commands evaluate the model as the built-in LeNet5: keep its graph

    cm = compress_state_dict(state_dict, CompressConfig(format=fmt), graph=infer_graph(state_dict, confirm=True), info=info)
    f = get_format(fmt)
    if mantissa_bits is None or mantissa_bits == f.mantissa_bits:
        return cm
    tensors = {name: encode_bits(st.decode_bits(), f, mantissa_bits=mantissa_bits) for name, st in cm.tensors.items()}
    return replace(cm, tensors=tensors)


def measure(cm: CompressedModel, reference_bits: Mapping[str, np.ndarray] | None = None) -> dict:
    """Eq. 1/2 figures of what the container stores (and % of weights changed vs `reference_bits`)."""
    fmt = get_format(cm.format)
    comp = orig = n_total = changed = 0
    index_bits, distinct = {}, {}
    mbits = fmt.mantissa_bits
    for name, st in cm.tensors.items():
        comp += st.stored_bits()
        orig += st.numel * fmt.total_bits
        n_total += st.numel
        index_bits[name] = int(st.index_bits)
        distinct[name] = int(st.distinct_exponents)
        mbits = min(mbits, int(st.mantissa_bits))
        if reference_bits is not None:
            changed += int(np.count_nonzero(st.decode_bits().reshape(-1) != reference_bits[name].reshape(-1)))
    return {"compressed_bits": comp, "original_bits": orig,
            "savings_pct": 100.0 * (orig - comp) / orig if orig else 0.0,
            "savings_fp32_pct": 100.0 * (32 * n_total - comp) / (32 * n_total) if n_total else 0.0,
            "approximated_pct": 100.0 * changed / n_total if n_total else 0.0,
            "index_bits": index_bits, "distinct_exponents": distinct, "mantissa_bits": mbits}


Step = tuple[str, Callable[[], tuple[StateDict, int | None]]]


def run_steps(method: str, params: dict, fmt: str, start: StateDict, baseline_accuracy: float, eval_fn: EvalFn,
              steps: Iterable[Step], thresholds: Thresholds = Thresholds(), show: bool = True,
              stop_when_unchanged: bool = True, test_fn: EvalFn | None = None,
              baseline_test_accuracy: float | None = None, keep_models: str = "all") -> RunResult:
    """Evaluate iteration 0 (lossless sharing of `start`) then each step until a threshold stops the run.

    `eval_fn` (validation data) decides; `test_fn` (held-out data) is only recorded. `keep_models`
    "best" keeps only the container of the last successful iteration (the others are None in
    `models`): a large model then costs one container, not one per iteration."""
    if keep_models not in ("all", "best"):
        raise ValueError(f"keep_models must be 'all' or 'best', got {keep_models!r}")
    f = get_format(fmt)
    start = cast_state_dict(start, f.name)
    reference = {k: tensor_bits(v) for k, v in start.items() if is_encoded(v, False)}
    records: list[IterationRecord] = []
    models: list[CompressedModel] = []
    previous = None

    def evaluate(iteration: int, label: str, sd: StateDict, mbits: int | None, t0: float) -> tuple[IterationRecord, CompressedModel]:
        cm = build_container(sd, f.name, mbits)
        decoded = cm.state_dict()
        acc = float(eval_fn(decoded))
        test_acc = None if test_fn is None else float(test_fn(decoded))
        del decoded
        fig = measure(cm, reference)
        drop = baseline_accuracy - acc
        ok = iteration == 0 or (fig["savings_pct"] > thresholds.min_saving and drop <= thresholds.max_drop)
        rec = IterationRecord(iteration, label, acc, drop, fig["savings_pct"], fig["savings_fp32_pct"], fig["approximated_pct"],
                              fig["index_bits"], fig["distinct_exponents"], fig["mantissa_bits"], fig["compressed_bits"],
                              fig["original_bits"], time.perf_counter() - t0, ok, test_acc)
        shown = "" if test_acc is None else f", test {test_acc:.2f}%"
        progress(f"  [{method}] iter {iteration} ({label}): acc {acc:.2f}% (drop {drop:+.2f}){shown}, saved {rec.savings_pct:.2f}% "
                 f"vs {f.name}, {rec.approximated_pct:.2f}% weights changed, i bits {list(rec.index_bits.values())}, "
                 f"m {rec.mantissa_bits}, {rec.seconds:.1f}s{'' if ok else '  -> stop'}", show)
        return rec, cm

    t0 = time.perf_counter()
    rec, cm = evaluate(0, "lossless", start, None, t0)
    records.append(rec)
    models.append(cm)
    best = 0
    for iteration, (label, make) in enumerate(steps, start=1):
        t0 = time.perf_counter()
        sd, mbits = make()
        sd = cast_state_dict(sd, f.name)
        key = (_digest(sd), mbits)  # a hash, not a copy of every weight's bytes
        if stop_when_unchanged and key == previous:
            progress(f"  [{method}] iter {iteration} ({label}): no further change, stopping", show)
            break
        previous = key
        rec, cm = evaluate(iteration, label, sd, mbits, t0)
        del sd
        records.append(rec)
        models.append(cm)
        if not rec.accepted:
            if keep_models == "best":
                models[-1] = None
            break
        if keep_models == "best":
            models[best] = None
        best = len(records) - 1
        del cm
    return RunResult(method, params, f.name, baseline_accuracy, tuple(records), best, tuple(models), baseline_test_accuracy)


def _digest(sd: Mapping[str, torch.Tensor]) -> bytes:
    """SHA-256 over the raw bits of every encoded tensor (name, shape and bits), one tensor at a time."""
    h = hashlib.sha256()
    for k, v in sd.items():
        if is_encoded(v, False):
            h.update(k.encode() + b"\0" + repr(tuple(v.shape)).encode())
            h.update(memoryview(np.ascontiguousarray(tensor_bits(v)).reshape(-1).view(np.uint8)))
    return h.digest()


def finalize(result: RunResult, source: str = "", position: int | None = None) -> CompressedModel:
    """The container of the last successful iteration (or record `position`), with method, parameters and records in `info`."""
    position = result.best if position is None else position
    rec, model = result.records[position], result.models[position]
    info = {"source": source, "method": result.method, "params": result.params, "format": result.format,
            "baseline_accuracy": result.baseline_accuracy, "iteration": rec.iteration, "accuracy": rec.accuracy,
            "baseline_test_accuracy": result.baseline_test_accuracy, "test_accuracy": rec.test_accuracy,
            "savings_pct": rec.savings_pct, "savings_fp32_pct": rec.savings_fp32_pct,
            "records": [r.to_dict() for r in result.records]}
    return replace(model, info={**model.info, **info})


def approximate_state_dict(state_dict: Mapping[str, torch.Tensor], fmt: str, method: str, saliency: str,
                           k: int, floor_bits: int = 2) -> StateDict:
    """Iteration k of Algorithm 1: every encoded layer with i >= 3 index bits reduced to max(floor, i - k) bits."""
    from pycompress.core.progress import Ticker

    f = get_format(fmt)
    out = {}
    ticker = Ticker(f"approximating (iteration {k})", len(state_dict))
    for j, (name, t) in enumerate(state_dict.items()):  # one tensor at a time
        ticker.tick(j, name)
        t = to_format(t, f) if t.is_floating_point() else t
        if not is_encoded(t, False):
            out[name] = t
            continue
        bits = tensor_bits(t)
        _, exponent, _ = split_fields(bits.reshape(-1), f)
        i0 = index_bits_for(int(np.unique(exponent).size))
        target = 1 << index_target(i0, k, floor_bits)
        out[name] = bits_tensor(approximate_bits(bits, f, method, saliency, target), f)
    return out


def iterative_approximation(state_dict: Mapping[str, torch.Tensor], fmt: str, method: str, saliency: str,
                            eval_fn: EvalFn, baseline_accuracy: float, thresholds: Thresholds = Thresholds(),
                            max_iterations: int = 16, show: bool = True, test_fn: EvalFn | None = None,
                            baseline_test_accuracy: float | None = None, keep_models: str = "all") -> RunResult:
    """Algorithm 1 with substitute A1/A2/A3 (Algorithm 2); each iteration removes one index bit per layer."""
    check_method(method, saliency)
    base = cast_state_dict(state_dict, get_format(fmt).name)
    steps = ((f"i-{k}", (lambda k=k: (approximate_state_dict(base, fmt, method, saliency, k), None)))
             for k in range(1, max_iterations + 1))
    params = {"method": method, "saliency": saliency, "max_drop": thresholds.max_drop, "min_saving": thresholds.min_saving}
    return run_steps(f"{method}-{saliency}", params, fmt, base, baseline_accuracy, eval_fn, steps, thresholds, show,
                     test_fn=test_fn, baseline_test_accuracy=baseline_test_accuracy, keep_models=keep_models)
