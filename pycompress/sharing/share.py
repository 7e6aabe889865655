"""Weight sharing v2 (issue 25): pruning, clustering, codebook fine-tuning and entropy-coded indices,
chosen on validation by a confidence bound, with the test part reported beside and never used.

The search, in four variants whose candidates are all measured the same way:
1. clustering alone: per-layer k from the codebook sensitivity of the original (one plan per
   allowance in `k_levels`), no retraining, fixed-width indices (`cluster` scheme);
2. + fine-tuning: the same plans, codebooks fine-tuned (`finetune.codebook_finetune`);
3. + pruning: a ladder of per-layer pruning ratios from the pruning sensitivity (one rung per
   allowance in `prune_levels`), each rung reached from the previous one by `steps` magnitude
   pruning steps with masked fine-tuning, then `final_epochs` more; every rung is clustered (zero
   kept as one entry, k per layer from the rung's own codebook sensitivity) and fine-tuned;
4. + entropy-coded indices: the models of 2 and 3 stored as `cluster_huffman`.
Every candidate is judged on the decoded tensors it would be written with. For each variant and each
allowed drop, the chosen candidate is the most compressed one whose upper confidence bound on the
validation drop (`bound.py`) meets the allowed drop.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable, Mapping, Sequence

import torch

from pycompress.core.container import CompressedModel
from pycompress.core.errors import PycompressError
from .bound import Paired
from .cluster import cluster_state_dict
from .finetune import Trainer, codebook_finetune, masked_finetune
from .kfold import index, pooled
from .prune import apply_mask, keep_mask
from .share_plan import LayerOptions, greedy_plans
from .share_config import SelectionRule, ShareConfig  # noqa: F401 (ShareConfig re-exported)
from .share_sensitivity import Curve, Judge, cluster_curves, prune_curves

Progress = Callable[[str], None] | None
VARIANTS = ("cluster", "cluster+ft", "prune+cluster+ft", "entropy")
VARIANT_TITLES = {"cluster": "clustering alone", "cluster+ft": "+ codebook fine-tuning",
                  "prune+cluster+ft": "+ pruning", "entropy": "+ entropy-coded indices"}


@dataclass(frozen=True, eq=False)
class Candidate:
    variant: str
    label: str  # where it came from, e.g. "prune 4 / k 0.5"
    ratios: tuple[float, ...]  # pruning ratio per weight tensor
    ks: tuple[int, ...]  # codebook size per weight tensor, as stored
    val: Paired
    test: Paired
    layer_bits: tuple[int, ...]  # stored bits per weight tensor, codebooks and code tables included
    layer_bytes: tuple[int, ...]  # stored bytes per weight tensor (each field padded to whole bytes)
    n: int  # weights
    model: CompressedModel = field(repr=False)
    rung: float = 0.0  # pruning budget of its rung (0: unpruned), the place on the ladder walk
    k_allowance: float = 0.0  # budget of its codebook plan
    same_as: str | None = None  # a budget whose plan equals the rung below names that rung's candidates

    @property
    def bits(self) -> int:
        return sum(self.layer_bits)

    @property
    def file_bytes(self) -> int:
        return sum(self.layer_bytes)

    @property
    def rate(self) -> float:
        """Against FP32, from the bytes the file stores for the weights (codebooks and code tables included)."""
        return 4 * self.n / self.file_bytes

    @property
    def rate_bits(self) -> float:
        return 32 * self.n / self.bits

    def to_dict(self, names: tuple[str, ...], confidence: float) -> dict:
        return {"variant": self.variant, "label": self.label, "rung": self.rung, "k_allowance": self.k_allowance,
                **({"same_as": self.same_as} if self.same_as else {}),
                "layers": [{"name": n, "prune": r, "k": k, "bits": b, "bytes": y}
                           for n, r, k, b, y in zip(names, self.ratios, self.ks, self.layer_bits, self.layer_bytes)],
                "bits": self.bits, "file_bytes": self.file_bytes, "rate_fp32": self.rate, "rate_fp32_bits": self.rate_bits,
                "validation": self.val.to_dict(confidence), "test": self.test.to_dict()}


@dataclass(frozen=True)
class ShareResult:
    config: ShareConfig
    names: tuple[str, ...]
    numel: tuple[int, ...]
    baseline_val: Paired
    baseline_test: Paired
    prune_sensitivity: tuple[Curve, ...]
    cluster_sensitivity: tuple[Curve, ...]
    rungs: tuple[dict, ...]  # each pruning rung: ratios, validation/test before clustering
    candidates: tuple[Candidate, ...]
    seconds: float
    folds: tuple = ()  # kfold.FoldOutcome of folds 1..K-1; empty: the one validation part chooses

    def selection(self, c: Candidate) -> Paired | None:
        """The paired counts that choose: the candidate's validation part, or its label's counts pooled over
        every fold (None when a fold has no candidate of that label)."""
        if not self.folds:
            return c.val
        key = (c.variant, c.label)
        return pooled(c.val, [f[key].val if key in f else None for f in self._by_fold])

    @cached_property
    def _by_fold(self) -> list[dict]:
        return index(self.folds)

    @cached_property
    def rule(self) -> SelectionRule:
        """The selection rule in force (`auto` resolved): see share_config.RULES."""
        return self.config.rule(bool(self.folds))

    def bound(self, p: Paired) -> float:
        return rule_bound(self.rule, p, self.baseline_test.n)

    @property
    def bound_name(self) -> str:
        conf = self.rule.confidence
        return (f"upper {conf:.0%} confidence bound" if self.rule.bound == "confidence" else
                f"upper {conf:.0%} prediction bound for {self.baseline_test.n:,} new items")

    def _stepped(self, variant: str) -> list[tuple[Candidate, tuple | None]]:
        mine = [c for c in self.candidates if c.variant == variant]
        return list(zip(mine, walk_steps([c.rung for c in mine], [c.k_allowance for c in mine])))

    def walk(self, variant: str) -> list[Candidate]:
        """The variant's candidates on the ladder walk, in its order (walk_steps)."""
        on = [(st, i, c) for i, (c, st) in enumerate(self._stepped(variant)) if st is not None]
        return [c for _, _, c in sorted(on, key=lambda t: t[:2])]

    def chosen(self, variant: str, max_drop: float) -> Candidate | None:
        stepped = self._stepped(variant)
        rows = [Judged(c.rate, None if (p := self.selection(c)) is None else self.bound(p), st) for c, st in stepped]
        i = select(rows, max_drop, self.rule.walk)
        return None if i is None else stepped[i][0]

    @property
    def selected_on(self) -> str:
        n = self.baseline_val.n + sum(o.baseline_val.n for o in self.folds)
        return f"validation ({n:,} items)" if not self.folds else f"validation, {len(self.folds) + 1} folds ({n:,} items)"


@dataclass(frozen=True)
class Judged:
    """A candidate as selection sees it."""

    rate: float  # compression against FP32
    bound: float | None  # the rule's bound on its drop, points; None: a fold lacks its label
    step: tuple | None  # its place on the ladder walk (walk_steps); None: off the walk


def rule_bound(rule: SelectionRule, p: Paired, test_n: int) -> float:
    """The confidence bound on the expected drop, or the prediction bound on the drop a part of test_n new items
    would show (the test part's size; its labels are not read)."""
    return p.upper(rule.confidence) if rule.bound == "confidence" else p.predicted(test_n, rule.confidence)


def walk_steps(rungs: Sequence[float], k_allowances: Sequence[float]) -> list[tuple | None]:
    """Each candidate's place on its variant's ladder walk, an order the search fixes before any validation label
    is read: the pruning rungs upward at the smallest codebook budget (rung 0: unpruned), or, for a variant
    without pruning, its codebook budgets upward. Candidates at other budgets are off the walk."""
    if any(r > 0 for r in rungs):
        k0 = min(k_allowances)
        return [(r,) if k == k0 else None for r, k in zip(rungs, k_allowances)]
    return [(k,) for k in k_allowances]


def select(rows: Sequence[Judged], max_drop: float, walk: bool) -> int | None:
    """Index of the chosen row, None when none is chosen.

    Without the walk: the most compressed row whose bound meets max_drop. With it: walk the rows on the walk in
    order, each passing while its bound meets max_drop; the first that fails ends the walk (a row whose bound
    is None is passed over); the most compressed row passed is chosen. This is fixed-sequence testing
    (Maurer, Hothorn and Lehmacher 1995): with the order fixed in advance, the chance that any passed row
    lies beyond max_drop is that of one bound, however long the walk. Taking the most compressed of ~26
    candidates that each pass on their own is not; on 8 folds it broke the bound on 2 of 4 splits
    (docs/sharing-v2.md)."""
    ok = lambda i: rows[i].bound is not None and rows[i].bound <= max_drop + 1e-9  # noqa: E731
    if not walk:
        return max((i for i in range(len(rows)) if ok(i)), key=lambda i: (rows[i].rate, -rows[i].bound), default=None)
    passed = []
    for i in sorted((i for i in range(len(rows)) if rows[i].step is not None), key=lambda i: (rows[i].step, i)):
        if rows[i].bound is None:
            continue
        if not ok(i):
            break
        passed.append(i)
    return max(passed, key=lambda i: rows[i].rate, default=None)


def weight_names(state: Mapping[str, torch.Tensor]) -> tuple[str, ...]:
    from pycompress.compress import is_encoded

    names = tuple(n for n, t in state.items() if is_encoded(t, False))
    if not names:
        raise PycompressError("the model has no weight tensors (floating, two or more dimensions) to share")
    return names


class _Run:
    """One search: the task, the judge, the trainer, and the candidates found so far."""

    def __init__(self, state, task, cfg: ShareConfig, progress: Progress, graph: dict | None) -> None:
        from pycompress.frontends.graph_builtin import infer_graph

        self.cfg, self.say = cfg, progress or (lambda _m: None)
        self.state = {k: v.detach().clone() for k, v in state.items()}
        self.graph = graph or infer_graph(self.state)  # the layer graph does not change with the weights' values
        self.names = weight_names(self.state)
        self.task = task
        self.judge = Judge(task, self.state, cfg.plan_items, cfg.plan_inputs)
        x, y = task.data.part("train")
        self.trainer = Trainer(x, y, task.build(dict(self.state)), cfg.train)
        self.candidates: list[Candidate] = []
        self.seed = cfg.seed

    def next_seed(self) -> int:
        self.seed += 1
        return self.seed

    def student(self, state=None) -> torch.nn.Module:
        return self.task.build({k: v.clone() for k, v in (state or self.state).items()})

    def eps(self) -> float:
        return 50.0 / self.judge.plan_answers.numel()  # half an item of the plans' measure, in points

    def plan_ks(self, curves: tuple[Curve, ...], clusterers, entropy: bool) -> list[tuple[float, tuple[int, ...]]]:
        """One codebook-size plan per budget: bits saved per point of predicted drop, greedily."""
        from pycompress.schemes.coded_codebook import from_clustered

        layers = []
        for c in curves:
            ks = sorted((int(k) for k in c.settings), reverse=True)
            drop = dict(zip((int(k) for k in c.settings), c.disagree))
            cts = [clusterers[c.name].clustered(k, self.cfg.codebook_format) for k in ks]
            bits = [from_clustered(ct).stored_bits() if entropy else ct.stored_bits() for ct in cts]
            layers.append(LayerOptions(c.name, tuple(ks), tuple(drop[k] for k in ks), tuple(bits[0] - b for b in bits)))
        return [(b, tuple(int(k) for k in plan)) for b, plan in greedy_plans(layers, self.cfg.k_levels, self.eps())]

    def add(self, variant: str, label: str, ratios, state: Mapping[str, torch.Tensor], clustered: dict,
            val: Paired | None = None, test: Paired | None = None, rung: float = 0.0,
            k_allowance: float = 0.0) -> tuple[Paired, Paired]:
        """Record a candidate: its container (trained tensors raw, weights as stored) judged from decoded tensors."""
        from pycompress.schemes.coded_codebook import from_clustered

        tensors = {n: from_clustered(ct) for n, ct in clustered.items()} if variant == "entropy" else dict(clustered)
        cm = cluster_state_dict(state, {n: tensors[n].k for n in self.names}, self.cfg.codebook_format,
                                prebuilt=tensors, graph=self.graph)
        if val is None:
            val, test = self.judge.both(cm.state_dict())
        bits = tuple(int(cm.tensors[n].stored_bits()) for n in self.names)
        nbytes = tuple(sum(int(a.nbytes) for a in cm.tensors[n].arrays().values()) for n in self.names)
        c = Candidate(variant, label, tuple(ratios), tuple(cm.tensors[n].k for n in self.names), val, test, bits, nbytes,
                      sum(self.state[n].numel() for n in self.names), cm, rung, k_allowance)
        self.candidates.append(c)
        self.say(f"{variant:>16} {label:<16} {c.rate:6.2f}x  validation {val.accuracy:.2f}% (drop {val.drop:+.2f}, "
                 f"bound {val.upper(self.cfg.shown_confidence):.2f}; lost {val.lost}, gained {val.gained})  test {test.accuracy:.2f}%")
        return val, test

    def clustered_rung(self, state, ratios, label: str, variants: tuple[str, ...], sensitivity=None,
                       rung: float = 0.0) -> None:
        """Cluster one model per codebook plan of its own sensitivity: untrained (optional) and fine-tuned."""
        cfg = self.cfg
        curves, clusterers = sensitivity or cluster_curves(self.judge, state, self.names, cfg.ks, cfg.codebook_format)
        for allowance, ks in self.plan_ks(curves, clusterers, entropy="cluster" not in variants):
            clustered = {n: clusterers[n].clustered(k, cfg.codebook_format) for n, k in zip(self.names, ks)}
            name = f"{label}k {allowance:g}"
            if "cluster" in variants:
                self.add("cluster", name, ratios, state, clustered, rung=rung, k_allowance=allowance)
            model = self.student(state)
            tuned = codebook_finetune(self.trainer, model, clustered, cfg.codebook_epochs, self.next_seed())
            tuned_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            val, test = self.add(variants[-1], name, ratios, tuned_state, tuned, rung=rung, k_allowance=allowance)
            self.add("entropy", name, ratios, tuned_state, tuned, val, test, rung, allowance)

    def ladder(self, curves: tuple[Curve, ...]) -> list[dict]:
        cfg, model = self.cfg, self.student()
        current = {n: 0.0 for n in self.names}
        rungs: list[dict] = []
        options = [LayerOptions(c.name, c.settings, c.disagree, tuple(c.n * r for r in c.settings)) for c in curves]
        for allowance, plan in greedy_plans(options, cfg.prune_levels, self.eps()):
            target = dict(zip(self.names, plan))
            if target == current:
                continue
            start = time.perf_counter()
            for s in range(1, cfg.steps + 1):
                frac = 1 - (1 - s / cfg.steps) ** 3  # prune fast first, gently near the target (Zhu and Gupta 2017)
                params = dict(model.named_parameters())
                keep = {n: keep_mask(params[n].detach(), current[n] + (target[n] - current[n]) * frac) for n in self.names}
                masked_finetune(self.trainer, model, keep, cfg.step_epochs + (cfg.final_epochs if s == cfg.steps else 0),
                                self.next_seed())
            current = target
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            for n in self.names:  # exact zeros where pruned (the loop leaves them so; kept explicit)
                state[n] = apply_mask(state[n], state[n] != 0)
            val, test = self.judge.both(state)
            ratios = tuple(current[n] for n in self.names)
            rungs.append({"allowance": allowance, "ratios": dict(zip(self.names, ratios)),
                          "validation": val.to_dict(cfg.shown_confidence), "test": test.to_dict(),
                          "seconds": round(time.perf_counter() - start, 1)})
            self.say(f"pruning rung {allowance:g}: " + " ".join(f"{n}={current[n]:.2f}" for n in self.names)
                     + f"  validation {val.accuracy:.2f}% test {test.accuracy:.2f}% (before clustering)")
            if val.drop > cfg.stop_drop:
                rungs[-1]["stopped"] = True
                self.say(f"pruning rung {allowance:g} loses {val.drop:.2f} points before clustering: the ladder stops")
                break
            self.clustered_rung(state, ratios, f"prune {allowance:g} / ", ("prune+cluster+ft",), rung=allowance)
        self.alias_rungs(rungs)
        return rungs

    def alias_rungs(self, rungs: list[dict]) -> None:
        """A budget whose plan equals the rung below (greedy_plans leaves it out) gets that rung's candidates under its
        own labels: the recipe at that budget gives that model. So a label means one setting in every fold, and the
        ladder walk of k-fold selection does not lose a rung to one fold's duplicate plan. Budgets from the rung that
        stopped the ladder up stay empty: the recipe stops there."""
        made = sorted(r["allowance"] for r in rungs if not r.get("stopped"))
        stop = min((r["allowance"] for r in rungs if r.get("stopped")), default=float("inf"))
        if not made:
            return
        for budget in sorted(self.cfg.prune_levels):
            if made[0] < budget < stop and budget not in made:
                below = max(a for a in made if a < budget)
                for c in [c for c in self.candidates if c.rung == below and c.variant in ("prune+cluster+ft", "entropy")]:
                    self.candidates.append(replace(c, label=c.label.replace(f"prune {below:g} / ", f"prune {budget:g} / ", 1),
                                                   rung=budget, same_as=c.same_as or c.label))
                self.say(f"pruning budget {budget:g}: the same plan as rung {below:g}, whose candidates it names")


def run_share(state: Mapping[str, torch.Tensor], task, config: ShareConfig = ShareConfig(), progress: Progress = None,
              graph: dict | None = None) -> ShareResult:
    """The whole v2 search on a trainable model (`task.build(state)` has parameters named as in `state`).
    Run inside `torch_threads(1, deterministic=True)` for repeatable results."""
    start = time.perf_counter()
    run = _Run(state, task, config, progress, graph)
    base_val, base_test = run.judge.baseline
    run.say(f"original: validation {base_val.accuracy:.2f}% ({base_val.n}), test {base_test.accuracy:.2f}% ({base_test.n})")
    prune_sens = prune_curves(run.judge, run.state, run.names, config.prune_grid, progress)
    cluster_sens, clusterers = cluster_curves(run.judge, run.state, run.names, config.ks, config.codebook_format, progress)
    run.clustered_rung(run.state, tuple(0.0 for _ in run.names), "", ("cluster", "cluster+ft"), (cluster_sens, clusterers))
    rungs = run.ladder(prune_sens)
    return ShareResult(config, run.names, tuple(run.state[n].numel() for n in run.names), base_val, base_test,
                       prune_sens, cluster_sens, tuple(rungs), tuple(run.candidates), time.perf_counter() - start)


def with_info(c: Candidate, result: ShareResult, max_drop: float, source: str) -> CompressedModel:
    """The candidate's container with what chose it in its info."""
    cfg, sel = result.config, result.selection(c)
    info = {"method": f"weight sharing v2 ({VARIANT_TITLES[c.variant]})", "source": source, "candidate": c.label,
            "plan": {n: {"prune": r, "k": k} for n, r, k in zip(result.names, c.ratios, c.ks)},
            "selected_on": result.selected_on, "max_drop": max_drop, "confidence": result.rule.confidence,
            "selection": result.rule.name, "selection_bound": {"name": result.bound_name,
                                                          "value": result.bound(sel)},
            "validation": c.val.to_dict(cfg.shown_confidence), "baseline_accuracy": result.baseline_val.accuracy,
            **({"validation_folds": sel.to_dict(result.rule.confidence)} if result.folds else {}),
            "test": c.test.to_dict(), "baseline_test_accuracy": result.baseline_test.accuracy,
            "rate_fp32": c.rate, "weight_bytes": c.file_bytes}
    return replace(c.model, info=info)
