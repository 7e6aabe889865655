"""Is the explorer's printed bound honest? Weight sharing v2 (`pycompress share`) on LeNet-5 over several
train/validation splits, the 1,000 test digits fixed (issue 25).

For each split seed s, the 4,000 digits that are not test are permuted with seed s (s = 0 keeps the
shipped split's order) into 3,500 training and 500 validation digits; a LeNet-5 is trained on the
training part with the shipped model's recipe (30 epochs, seed 0, one thread), and the whole v2
search runs on it, choosing on that split's validation digits. The test drop of every chosen
configuration is then printed beside its validation drop and bound. The bound is honest in the
issue's sense when, for the entropy-coded variant at --max-drop, the test drop exceeds the bound
at most once over the five seeds.

    .venv/bin/python benchmarks/bench_share_honesty.py [--seeds 5 | --only 3 4] [--folds 8 --jobs 2]
        [--selection auto|largest|ladder] [--plan-inputs validation+train|train] [--json FILE]
        [--test-block B] [--lr --distill --temperature --steps --step-epochs --final-epochs X]
        [--prune-budgets 1,4,16,32 --k-budgets 0]

`--test-block B` tests on another 1,000 of the digits (the shipped test digits join the pool); the recipe
flags and a shorter ladder make recipe screens (reports/share-recipe-screen/, benchmarks/share_recipe_screen.py).

With `--folds K` every seed chooses as `make sharing-report` does (`share --folds K`): the seed's model is
fold 0, and K - 1 more originals are trained on the same seed's data, each without its validation block
(sharing/kfold.py); the choice pools the K folds and, by default, walks the pruning ladder with the
prediction bound (`--selection ladder`; `largest` is the one-part rule). The summary also re-chooses from
the recorded counts with both rules at three confidences. About 4 minutes per search on one idle core (training,
then the search): 5 seeds x K searches. The figures are printed as each seed finishes. Not a unit test:
it measures, it does not assert.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from pycompress.frontends.datasets import Dataset
from pycompress.frontends.evaluator import Task
from pycompress.frontends.lenet import LeNet5, Split, load_lenet, mnist_split, torch_threads, train_model
from pycompress.sharing.kfold import run_folds
from pycompress.sharing.bound import Paired
from pycompress.sharing.share import VARIANTS, Judged, ShareConfig, rule_bound, run_share, select, walk_steps
from pycompress.sharing.share_config import AUTO_RULES, PLAN_INPUTS, RULES, SELECTIONS, TrainConfig
from pycompress.cli.commands.share import float_list


def split_for(seed: int, test_block: int | None = None) -> Split:
    """The fixed test digits; the other 4,000 permuted by `seed` (0: the shipped order) into 3,500 / 500.
    With `test_block` b, the test part is instead the b-th 1,000 of those 4,000 (before the permutation) and the
    shipped test digits join the rest: the same sizes, another sample as test."""
    s = mnist_split()
    x = torch.cat([s.x_train, s.x_val])
    y = torch.cat([s.y_train, s.y_val])
    x_test, y_test = s.x_test, s.y_test
    if test_block is not None:
        lo, hi = test_block * len(y_test), (test_block + 1) * len(y_test)
        x_test, y_test = x[lo:hi], y[lo:hi]
        x, y = torch.cat([x[:lo], x[hi:], s.x_test]), torch.cat([y[:lo], y[hi:], s.y_test])
    order = torch.arange(len(y)) if seed == 0 else torch.from_numpy(np.random.default_rng(seed).permutation(len(y)))
    x, y = x[order], y[order]
    n = len(s.y_train)
    return Split(x[:n], y[:n], x[n:], y[n:], x_test, y_test)


def pick(candidates: list[dict], seed: int, rule, max_drop: float, test_n: int) -> dict | None:
    """The entropy-coded candidate `rule` chooses among one seed's (share.select on the recorded counts)."""
    mine = [c for c in candidates if c["seed"] == seed and c["variant"] == "entropy"]
    # `correct` does not enter a bound: n - lost + gained stands in for it
    counts = [Paired(c["validation_n"], c["validation_n"] - c["lost"] + c["gained"], c["lost"], c["gained"]) for c in mine]
    steps = walk_steps([c["rung"] for c in mine], [c["k_allowance"] for c in mine])
    i = select([Judged(c["rate"], rule_bound(rule, p, test_n), st) for c, p, st in zip(mine, counts, steps)],
               max_drop, rule.walk)
    return None if i is None else mine[i]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--only", type=int, nargs="+", metavar="SEED",
                    help="run these seeds only (to finish or repeat part of a run; the summary counts them alone)")
    ap.add_argument("--max-drop", type=float_list(0, 100, "--max-drop"), default=(0.5, 0.3))
    ap.add_argument("--json", help="write every figure to this file")
    ap.add_argument("--folds", type=int, default=1, help="choose on K folds, as `share --folds K` (default 1)")
    ap.add_argument("--jobs", type=int, default=1, help="processes for the folds (default 1)")
    ap.add_argument("--selection", choices=SELECTIONS, default="auto",
                    help=f"selection rule, as `share --selection` (default auto: {AUTO_RULES[True]} with --folds, else "
                         f"{AUTO_RULES[False]})")
    ap.add_argument("--plan-inputs", choices=PLAN_INPUTS, default=ShareConfig.plan_inputs,
                    help="inputs the plans measure disagreement on, as `share --plan-inputs`")
    ap.add_argument("--test-block", type=int, choices=range(4), metavar="B",
                    help="test on the B-th 1,000 of the non-test digits (0-3) instead; the shipped test digits join the rest")
    train = TrainConfig()
    ap.add_argument("--lr", type=float, default=train.lr, help="masked fine-tuning learning rate, as `share --lr`")
    ap.add_argument("--distill", type=float, default=train.distill, help="as `share --distill`")
    ap.add_argument("--temperature", type=float, default=train.temperature, help="as `share --temperature`")
    ap.add_argument("--steps", type=int, default=ShareConfig.steps, help="as `share --steps`")
    ap.add_argument("--step-epochs", type=int, default=ShareConfig.step_epochs, help="as `share --step-epochs`")
    ap.add_argument("--final-epochs", type=int, default=ShareConfig.final_epochs, help="as `share --final-epochs`")
    ap.add_argument("--prune-budgets", type=float_list(0, 1e6, "--prune-budgets"), default=ShareConfig.prune_levels,
                    help="pruning ladder, as `share --prune-budgets` (fewer rungs: a quicker screen, not the shipped walk)")
    ap.add_argument("--k-budgets", type=float_list(0, 1e6, "--k-budgets"), default=ShareConfig.k_levels, help="as `share --k-budgets`")
    args = ap.parse_args()
    drops = args.max_drop
    cfg = ShareConfig(max_drops=drops, selection=args.selection, plan_inputs=args.plan_inputs,
                      prune_levels=args.prune_budgets, k_levels=args.k_budgets, steps=args.steps,
                      step_epochs=args.step_epochs, final_epochs=args.final_epochs,
                      train=TrainConfig(lr=args.lr, distill=args.distill, temperature=args.temperature))
    rows, candidates, start = [], [], time.perf_counter()
    seeds = list(args.only) if args.only else list(range(args.seeds))
    for seed in seeds:
        split = split_for(seed, args.test_block)
        with torch_threads(1, deterministic=True):
            t0 = time.perf_counter()
            model = train_model(LeNet5, 30, 0, split=split, progress=False)
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            trained = time.perf_counter() - t0
            name = f"mnist5k-split{seed}" + ("" if args.test_block is None else f"-test{args.test_block}")
            data = Dataset(name, split.x_train, split.y_train, split.x_val, split.y_val, split.x_test, split.y_test)
        if args.folds > 1:
            result = run_folds(data, args.folds, cfg, None, args.jobs, state)
        else:
            with torch_threads(1, deterministic=True):
                result = run_share(state, Task(lambda sd: load_lenet(dict(sd)), data), cfg,
                                   lambda m: print(f"  [seed {seed} {time.perf_counter() - start:7.0f}s] {m}",
                                                   file=sys.stderr, flush=True))
        test_n = result.baseline_test.n
        candidates.extend({"seed": seed, "variant": c.variant, "label": c.label, "rate": c.rate, "rung": c.rung,
                           "k_allowance": c.k_allowance, "validation_n": p.n,
                           "lost": p.lost, "gained": p.gained, "validation_drop": p.drop,
                           "test_drop": c.test.drop} for c in result.candidates if (p := result.selection(c)) is not None)
        for d in drops:
            for v in VARIANTS:
                c = result.chosen(v, d)
                row = {"seed": seed, "max_drop": d, "variant": v, "train_seconds": round(trained, 1),
                       "search_seconds": round(result.seconds, 1),
                       "baseline_validation": result.baseline_val.accuracy, "baseline_test": result.baseline_test.accuracy}
                p = None if c is None else result.selection(c)
                if c is not None:
                    row.update(candidate=c.label, rate=c.rate, validation_drop=p.drop, validation_n=p.n,
                               bound=result.bound(p), test_drop=c.test.drop)
                rows.append(row)
                print(f"seed {seed}  max drop {d:g}  {v:>16}: " + ("none within the bound" if c is None else
                      f"{c.rate:6.2f}x  validation drop {p.drop:+.2f} (bound {result.bound(p):.2f}, "
                      f"{p.n:,} items)  "
                      f"test drop {c.test.drop:+.2f}{'  OVER' if c.test.drop > d else ''}"), flush=True)
    print(f"\nselection rule: {result.rule.name} ({result.bound_name})")
    for d in drops:
        for v in VARIANTS:
            chosen = [r for r in rows if r["max_drop"] == d and r["variant"] == v and "test_drop" in r]
            over = sum(r["test_drop"] > d for r in chosen)
            rates = [r["rate"] for r in chosen]
            print(f"max drop {d:g} {v:>16}: chosen in {len(chosen)}/{len(seeds)} seeds, test drop over the bound in "
                  f"{over}; rate {min(rates, default=0):.1f}x..{max(rates, default=0):.1f}x")
    print("\nthe same candidates chosen by each rule at other confidences (entropy-coded variant):")
    for base in RULES.values():
        for conf in (0.8, 0.9, 0.95):
            rule = dataclasses.replace(base, confidence=conf)
            for d in drops:
                picks = [p for seed in seeds if (p := pick(candidates, seed, rule, d, test_n)) is not None]
                print(f"  {rule.name} ({rule.bound} bound), confidence {conf:g}, max drop {d:g}: chosen in {len(picks)}/{len(seeds)} seeds, test "
                      f"drop over the bound in {sum(p['test_drop'] > d for p in picks)}; rates "
                      + ", ".join(f"{p['rate']:.1f}x ({p['test_drop']:+.1f})" for p in picks))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"confidence": result.rule.confidence, "selection": result.rule.name, "rows": rows, "candidates": candidates},
                                              indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
