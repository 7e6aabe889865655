"""Flips per recipe: the pooled validation lost/gained of the entropy-coded candidates at each pruning rung,
from `bench_share_honesty.py --json` files (one per recipe), and the pre-registered decision
(reports/share-recipe-screen/PREREGISTERED.md): F = sum of lost + gained, N = sum of lost - gained over the rungs.

    .venv/bin/python benchmarks/share_recipe_screen.py D.json A.json B.json ... [--k-budget 0]

The first file is the default recipe. Validation counts only: the test drops in the files are not read.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def flips(path: Path, k_allowance: float) -> dict[float, tuple[int, int]]:
    """Pruned rung -> (lost, gained) pooled over the folds, for the entropy-coded candidates at `k_allowance`
    (the unpruned plan is the same model in every recipe but for codebook fine-tuning: left out)."""
    out = {}
    for c in json.loads(path.read_text())["candidates"]:
        if c["variant"] == "entropy" and c["rung"] and c["k_allowance"] == k_allowance:  # the pruned rungs
            out[c["rung"]] = (c["lost"], c["gained"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path, help="bench_share_honesty.py --json outputs; the first is the default")
    ap.add_argument("--k-budget", type=float, default=0.0)
    args = ap.parse_args()
    table = {f.stem: flips(f, args.k_budget) for f in args.files}
    rungs = sorted({r for t in table.values() for r in t})
    print("recipe  " + "  ".join(f"rung {r:g} lost/gained" for r in rungs) + "      F      N")
    totals = {}
    for name, t in table.items():
        cells = [t.get(r) for r in rungs]
        f = sum(l + g for l, g in filter(None, cells))
        n = sum(l - g for l, g in filter(None, cells))
        totals[name] = (f, n)
        print(f"{name:6}  " + "  ".join(f"{'-' if c is None else f'{c[0]}/{c[1]}':>20}" for c in cells) + f"  {f:5d}  {n:+5d}")
    default = next(iter(totals))
    f0, n0 = totals[default]
    # a recipe whose ladder stopped under a rung the default reached has fewer flips to count: not comparable
    whole = [k for k in totals if set(table[k]) >= set(table[default])]
    for k in totals:
        if k not in whole:
            print(f"{k}: lacks rung(s) {', '.join(f'{r:g}' for r in sorted(set(table[default]) - set(table[k])))} "
                  f"(its ladder stopped): not eligible")
    best = min(whole, key=lambda k: totals[k])
    fb, nb = totals[best]
    adopt = best != default and fb <= 0.75 * f0 and nb <= n0 + 4
    print(f"\nfewest flips: {best} (F {fb}, N {nb:+d}) against {default} (F {f0}, N {n0:+d}): "
          + (f"adopt {best}" if adopt else f"keep {default}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
