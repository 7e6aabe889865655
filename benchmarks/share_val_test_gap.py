"""Does validation see the same drop as test? Mean paired drops per pruning rung over every fold model of
k-fold `share` runs, read from their progress logs (issue 25).

Every fold's search logs, per pruning rung, the pruned model before clustering and each variant's
candidates, with their validation and test accuracy; the fold's original logs its own. The drop of a
model is its original's accuracy minus its own, on the same items (paired). Averaged over many fold
models, validation and test drops should agree if nothing in the search looked at the validation
inputs; a test drop above the validation drop, growing with the rung, says the search fitted them.

    .venv/bin/python benchmarks/share_val_test_gap.py LOG [LOG ...] [--variant entropy] [--plot gap.png]
        [--against OTHER_LOG ...]

LOG: the stderr of `share --folds K` or `bench_share_honesty.py --folds K` (plain or .gz; a new split
seed starts at each fold 0 "original:" line). Prints a table; measures, asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import fold_log

Rows = dict[tuple[str, float, str], list[tuple[float, float, float]]]


def drops(records: list[fold_log.Record], only: set | None = None) -> tuple[Rows, set]:
    """(kind, rung, k budget) -> [(validation drop, test drop, ratio)] over every fold model, and the models read;
    only those in `only` when given."""
    rows: Rows = defaultdict(list)
    base = {r.model: (r.validation, r.test) for r in records
            if isinstance(r, fold_log.Original) and (only is None or r.model in only)}
    for r in records:
        if r.model not in base:
            continue
        bv, bt = base[r.model]
        if isinstance(r, fold_log.Pruned):
            rows[("pruned", r.rung, "-")].append((bv - r.validation, bt - r.test, 0.0))
        elif isinstance(r, fold_log.Candidate):
            rows[(r.variant, r.rung, r.k)].append((bv - r.validation, bt - r.test, r.ratio))
    return rows, set(base)


def _beside(b, key) -> str:
    if not b:
        return " | " + "-".rjust(14)
    ratio = f"{statistics.mean(r for *_, r in b):13.1f}x" if key[0] != "pruned" else "-".rjust(14)
    return (f" | {ratio} {statistics.mean(v for v, _, _ in b):+8.2f} {statistics.mean(t for _, t, _ in b):+9.2f} "
            f"{statistics.mean(t - v for v, t, _ in b):+6.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("logs", nargs="+", type=Path)
    ap.add_argument("--variant", default="entropy", help="candidate variant to tabulate beside the pruned models")
    ap.add_argument("--plot", type=Path, help="write a PNG of mean validation and test drop per rung")
    ap.add_argument("--against", nargs="+", type=Path, metavar="LOG",
                    help="logs of the same splits and folds under other settings, in the same order: their gap on the "
                         "fold models both have is printed beside (same originals: a paired comparison)")
    args = ap.parse_args()
    missing = [str(p) for p in [*args.logs, *(args.against or [])] if not p.is_file()]
    if missing:
        print(f"share_val_test_gap: no such log: {missing[0]}", file=sys.stderr)
        return 2
    records = fold_log.read(args.logs)
    rows, models = drops(records)
    if not rows:
        print("share_val_test_gap: no fold lines in these logs (k-fold runs only)", file=sys.stderr)
        return 2
    other = {}
    if args.against:
        other, shared = drops(fold_log.read(args.against), models)
        rows, _ = drops(records, shared)  # the models both have
        print(f"paired: {len(shared)} fold models in both")
    keys = sorted((k for k in rows if k[0] in ("pruned", args.variant)), key=lambda k: (k[1], k[0] != "pruned", k[2]))
    print(f"{'model':>10} {'rung':>4} {'k':>5} {'models':>6} {'ratio':>7} {'val drop':>8} {'test drop':>9} {'gap':>6} {'gap se':>6}"
          + (f" | {'against: ratio':>14} {'val drop':>8} {'test drop':>9} {'gap':>6}" if other else ""))
    for key in keys:
        a = rows[key]
        gaps = [t - v for v, t, _ in a]
        se = statistics.stdev(gaps) / len(gaps) ** 0.5 if len(gaps) > 1 else float("nan")
        ratio = f"{statistics.mean(r for *_, r in a):6.1f}x" if key[0] != "pruned" else "      -"
        print(f"{key[0]:>10} {key[1]:4g} {key[2]:>5} {len(a):6d} {ratio} {statistics.mean(v for v, _, _ in a):+8.2f} "
              f"{statistics.mean(t for _, t, _ in a):+9.2f} {statistics.mean(gaps):+6.2f} {se:6.2f}"
              + (_beside(other.get(key), key) if other else ""))
    for name, table in (("these logs", rows), ("against", other)):
        every = [t - v for k in keys for v, t, _ in table.get(k, [])]
        if every:
            print(f"{name}: mean gap (test drop - validation drop) {statistics.mean(every):+.3f} points over {len(every)} "
                  "model-candidates (not independent: one fold model gives many)")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for kind, k, style in (("pruned", "-", "o"), (args.variant, "0", "s")):
            pts = sorted((r, rows[(kind, r, k)]) for (kd, r, kk) in rows if kd == kind and kk == k)
            for which, ls in ((0, "--"), (1, "-")):
                ax.plot([r for r, _ in pts], [statistics.mean(x[which] for x in a) for _, a in pts], ls, marker=style,
                        label=f"{kind}{'' if k == '-' else ' k ' + k}, {'validation' if which == 0 else 'test'}")
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlabel("pruning rung (plan budget, points)")
        ax.set_ylabel("mean drop over fold models (points)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        tmp = args.plot.with_name(args.plot.name + ".tmp")
        fig.savefig(tmp, format="png", dpi=120)
        tmp.replace(args.plot)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
