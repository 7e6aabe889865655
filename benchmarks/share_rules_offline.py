"""Other selection rules over the searches a `bench_share_honesty.py --folds K` run already made.

The searches do not depend on the selection rule, so a rule can be judged again from the run's per-fold
progress lines (its stderr) without searching again: each line gives a candidate's validation drop and
90% bound on its fold's 500 digits, from which its lost/gained counts follow, and its test accuracy.
Prints, per seed, the entropy-coded choice of the 8-fold rule at 90% and with a Bonferroni correction
over the seed's labels (one-sided 1 - 0.1/L), and its test drop (OVER: beyond the allowed drop).

    .venv/bin/python benchmarks/share_rules_offline.py reports/share-kfold-honesty/bench.err.gz [--folds 8]
"""
from __future__ import annotations

import argparse
import collections
import gzip
import re
import sys

from pycompress.sharing.bound import drop_bound

ORIGINAL = re.compile(r"\[fold (\d+) .*?\] original: validation ([\d.]+)% \((\d+)\), test ([\d.]+)%")
CANDIDATE = re.compile(r"\[fold (\d+) .*?\]\s+entropy (.+?)\s+([\d.]+)x  validation ([\d.]+)% "
                       r"\(drop ([+-][\d.]+), bound ([\d.]+)\)  test ([\d.]+)%")


def parse(lines: list[str]):
    """Per seed (a new seed starts at fold 0's `original:` line): originals' test accuracy, each label's
    (lost, gained, test accuracy) per fold, and fold 0's rate per label."""
    seed, n = -1, 500
    base, cand, rate0 = {}, collections.defaultdict(dict), {}
    for line in lines:
        if m := ORIGINAL.search(line):
            seed += m.group(1) == "0"
            n = int(m.group(3))
            base[(seed, int(m.group(1)))] = float(m.group(4))
        elif m := CANDIDATE.search(line):
            fold, label = int(m.group(1)), m.group(2).strip()
            net, bound = round(float(m.group(5)) * n / 100), float(m.group(6))
            counts = [(g + net, g) for g in range(n) if g + net >= 0 and 2 * g + net <= n and abs(drop_bound(g + net, g, n, 0.9) - bound) < 0.006]
            cand[(seed, label)][fold] = (counts[0], float(m.group(7)))
            if fold == 0:
                rate0[(seed, label)] = float(m.group(3))
    return seed + 1, n, base, cand, rate0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log", help="stderr of bench_share_honesty.py --folds K (.gz too)")
    ap.add_argument("--folds", type=int, default=8)
    args = ap.parse_args()
    try:
        opener = gzip.open if args.log.endswith(".gz") else open
        with opener(args.log, "rt", errors="replace") as f:
            seeds, n, base, cand, rate0 = parse(f.read().splitlines())
    except OSError as e:
        print(f"share_rules_offline: {args.log}: {e.strerror}", file=sys.stderr)
        return 2
    for drop in (0.5, 0.3):
        for name in ("90%", "Bonferroni"):
            out = []
            for s in range(seeds):
                labels = [lab for (ss, lab) in rate0 if ss == s]
                conf = 0.9 if name == "90%" else 1 - 0.1 / max(1, len(labels))
                ok = []
                for lab in labels:
                    rows = cand[(s, lab)]
                    if len(rows) == args.folds:
                        lost, gained = (sum(r[0][i] for r in rows.values()) for i in (0, 1))
                        if drop_bound(lost, gained, n * args.folds, conf) <= drop + 1e-9:
                            ok.append(lab)
                if not any(len(cand[(s, lab)]) == args.folds for lab in labels):
                    out.append(f"seed {s} (not all folds ran)")
                    continue
                if not ok:
                    out.append(f"seed {s} none")
                    continue
                lab = max(ok, key=lambda x: rate0[(s, x)])
                test_drop = base[(s, 0)] - cand[(s, lab)][0][1]
                out.append(f"seed {s} {rate0[(s, lab)]:.2f}x {test_drop:+.2f}{' OVER' if test_drop > drop + 1e-9 else ''}")
            print(f"max drop {drop:g}, {name}: " + " | ".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
