"""One reader for the progress logs of k-fold `share` runs (`share --folds K`, `bench_share_honesty.py --folds K`):
the lines the log analyses read, as records naming their fold model, so every analysis parses one way.

A new split seed starts at each fold 0 `original:` line; a model is (log index, split seed index, fold).
"""
from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

LINE = re.compile(r"\[fold (\d+)\s+[\d.]+s\] (.*)")
ORIGINAL = re.compile(r"original: validation ([\d.]+)% \((\d+)\), test ([\d.]+)%")
PRUNED = re.compile(r"pruning rung ([\d.]+):.* validation ([\d.]+)% test ([\d.]+)% \(before clustering\)")
STOP = re.compile(r"pruning rung ([\d.]+) loses")
# counts since 2026-12-07; older logs print the drop and bound only
CANDIDATE = re.compile(r"\s*(\S+) ((?:prune ([\d.]+) / )?k ([\d.]+))\s+([\d.]+)x\s+validation ([\d.]+)%"
                       r"(?: \(drop ([+-][\d.]+), bound (-?[\d.]+)(?:; lost (\d+), gained (\d+))?\))?.*?\btest ([\d.]+)%")

Model = tuple[int, int, int]  # (log index, split seed index, fold)


@dataclass(frozen=True)
class Original:
    model: Model
    validation: float  # accuracy, %
    n: int  # validation items of the fold
    test: float


@dataclass(frozen=True)
class Pruned:
    """A pruning rung's model before clustering."""
    model: Model
    rung: float
    validation: float
    test: float


@dataclass(frozen=True)
class Stop:
    """The rung whose pruned model lost too much: the fold's ladder ends under it."""
    model: Model
    rung: float


@dataclass(frozen=True)
class Candidate:
    model: Model
    variant: str
    label: str  # "k 0.25" or "prune 4 / k 0"
    rung: float  # 0: the unpruned plan
    k: str  # the codebook budget as printed
    ratio: float
    validation: float
    drop: float | None  # the fold's own validation drop, points (None: not printed)
    bound: float | None
    lost: int | None  # the fold's paired counts (None: older logs)
    gained: int | None
    test: float


Record = Original | Pruned | Stop | Candidate


def parse(lines, log: int = 0) -> list[Record]:
    """The records of one log's lines, in order."""
    out: list[Record] = []
    seed = -1
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        fold, body = int(m.group(1)), m.group(2)
        if o := ORIGINAL.match(body):
            seed += fold == 0
            out.append(Original((log, seed, fold), float(o.group(1)), int(o.group(2)), float(o.group(3))))
        elif seed < 0:
            continue
        elif p := PRUNED.match(body):
            out.append(Pruned((log, seed, fold), float(p.group(1)), float(p.group(2)), float(p.group(3))))
        elif s := STOP.match(body):
            out.append(Stop((log, seed, fold), float(s.group(1))))
        elif c := CANDIDATE.match(body):
            variant, label, rung, k, ratio, val, drop, bound, lost, gained, test = c.groups()
            out.append(Candidate((log, seed, fold), variant, label, float(rung or 0), k, float(ratio), float(val),
                                 None if drop is None else float(drop), None if bound is None else float(bound),
                                 None if lost is None else int(lost), None if gained is None else int(gained),
                                 float(test)))
    return out


def read(paths: list[Path]) -> list[Record]:
    """The records of every log (plain or .gz), the log index being its place in `paths`."""
    records: list[Record] = []
    for i, path in enumerate(paths):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", errors="replace") as fh:
            records.extend(parse(fh, i))
    return records
