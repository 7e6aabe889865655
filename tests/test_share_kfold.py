"""K-fold selection of `share` (sharing/kfold.py): the folds' data, the pooling of a label's paired counts,
selection by the pooled bound, and the CLI's refusals. The whole k-fold search runs once, on the shipped
LeNet with the smallest settings and two processes (marked long)."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from pycompress.core import container
from pycompress.core.errors import PycompressError
from pycompress.frontends.datasets import Dataset
from pycompress.sharing.bound import Paired
from pycompress.sharing.kfold import FoldCandidate, FoldOutcome, check_folds, fold_dataset, pooled

from conftest import run_cli
from test_share import SMALL, small_result  # noqa: F401 (fixture)


def _data(n_train=40, n_val=10, n_test=7) -> Dataset:
    n = n_train + n_val + n_test
    x = torch.arange(n, dtype=torch.float32).reshape(n, 1)
    y = torch.arange(n) % 3
    return Dataset("ids", x[:n_train], y[:n_train], x[n_train:n_train + n_val], y[n_train:n_train + n_val],
                   x[n_train + n_val:], y[n_train + n_val:])


def test_folds_partition_the_non_test_items():
    data = _data()
    folds = 5
    vals = []
    for f in range(folds):
        part = fold_dataset(data, f, folds)
        ids = lambda t: set(t.reshape(-1).long().tolist())  # noqa: E731
        assert len(part.y_val) == 10 and len(part.y_train) == 40  # every fold: the given sizes
        assert ids(part.x_train).isdisjoint(ids(part.x_val))
        assert ids(part.x_train) | ids(part.x_val) == set(range(50))  # all of train and validation, nothing of test
        assert torch.equal(part.x_test, data.x_test) and torch.equal(part.y_test, data.y_test)
        vals.append(ids(part.x_val))
    assert fold_dataset(data, 0, folds) is data
    assert all(a.isdisjoint(b) for i, a in enumerate(vals) for b in vals[i + 1:])  # validation blocks disjoint


def test_bad_fold_counts_one_line():
    data = _data()
    for folds, pattern in ((0, "--folds must be"), (5 + 1, "need 50 training items; there are 40"), (99, "--folds must be")):
        with pytest.raises(PycompressError, match=pattern):
            check_folds(data, folds)
    with pytest.raises(PycompressError, match="fold 3 is not"):
        fold_dataset(data, 3, 3)


def test_pooled_counts_add_and_a_missing_fold_is_none():
    a, b = Paired(500, 490, 2, 0), Paired(500, 492, 1, 3)
    p = pooled(a, [b, b])
    assert (p.n, p.correct, p.lost, p.gained) == (1500, 1474, 4, 6)
    assert pooled(a, [b, None]) is None and pooled(a, []) is a


def _outcome(fold: int, result, val: Paired, drop_label: str | None = None) -> FoldOutcome:
    cands = tuple(FoldCandidate(c.variant, c.label, c.rate, val, c.test) for c in result.candidates
                  if c.label != drop_label)
    return FoldOutcome(fold, result.baseline_val, result.baseline_test, cands, 0.0)


def test_selection_pools_every_fold(small_result):  # noqa: F811
    result = small_result[0]
    n = result.candidates[0].val.n
    # seven folds in which every candidate agrees with its original on all but one item it gains:
    # the pooled bound is lower than each candidate's own, and the choice follows it
    clean = replace(result, folds=tuple(_outcome(f, result, Paired(n, n - 1, 0, 1)) for f in range(1, 8)))
    for c in result.candidates:
        p = clean.selection(c)
        assert (p.n, p.lost, p.gained) == (8 * n, c.val.lost, c.val.gained + 7)
    largest = replace(clean, config=replace(SMALL, selection="largest"))
    strict = replace(clean, config=replace(SMALL, confidence=0.95))  # auto, --confidence 0.95
    assert (clean.rule.name, largest.rule.name, strict.rule.confidence) == ("ladder", "largest", 0.95)
    for d in (0.5, 1.0, 5.0):
        for v in {c.variant for c in result.candidates}:
            ok = [c for c in result.candidates if c.variant == v and clean.selection(c).upper(0.9) <= d + 1e-9]
            chosen = largest.chosen(v, d)
            assert (chosen is None) == (not ok)
            if chosen is not None:
                assert chosen.rate == max(c.rate for c in ok)
            # ladder (auto with folds): the chosen candidate is on the walk, and every step up to it passes its
            # prediction bound, at the rule's 90% or at the confidence asked for
            walk = clean.walk(v)
            for res, conf in ((clean, 0.9), (strict, 0.95)):
                bounds = [clean.selection(c).predicted(result.baseline_test.n, conf) for c in walk]
                prefix = walk[:next((i for i, b in enumerate(bounds) if b > d), len(walk))]
                assert res.chosen(v, d) is max(prefix, key=lambda c: c.rate, default=None)
    # a label that one fold lacks (its ladder stopped lower) is never chosen, however good elsewhere
    top = max(result.candidates, key=lambda c: c.rate)
    holed = replace(clean, folds=clean.folds[:-1] + (_outcome(7, result, Paired(n, n - 1, 0, 1), top.label),))
    assert holed.selection(top) is None
    assert all(holed.chosen(v, 100.0) is None or holed.chosen(v, 100.0).label != top.label
               for v in {c.variant for c in result.candidates})
    assert holed.selected_on == f"validation, 8 folds ({8 * n:,} items)"


def test_ladder_walk_stops_at_a_failing_rung(small_result):  # noqa: F811
    """A rung of the walk that fails its bound on the pooled counts ends the walk there, even though rungs above
    pass: `largest` would take those."""
    result = small_result[0]
    n = result.candidates[0].val.n
    walk = [c for c in result.walk("entropy")]
    assert len(walk) >= 2 and walk[0].rung == 0  # the unpruned plan first, then the rungs
    bad = walk[1].label

    def fold(f: int) -> FoldOutcome:  # every candidate clean, except `bad`, which loses a tenth of the items
        cands = tuple(FoldCandidate(c.variant, c.label, c.rate, Paired(n, n - n // 10, n // 10, 0) if c.label == bad
                                    else Paired(n, n, 0, 0), c.test) for c in result.candidates)
        return FoldOutcome(f, result.baseline_val, result.baseline_test, cands, 0.0)

    clean = tuple(c if c.variant != "entropy" else replace(c, val=Paired(n, n, 0, 0)) for c in result.candidates)
    ladder = replace(result, folds=tuple(fold(f) for f in range(1, 8)), candidates=clean,
                     config=replace(SMALL, max_drops=(1.0,), selection="ladder"))
    assert ladder.chosen("entropy", 1.0).label == walk[0].label
    largest = replace(ladder, config=replace(ladder.config, selection="largest"))
    best = max((c for c in clean if c.variant == "entropy" and c.label != bad), key=lambda c: c.rate)
    assert largest.chosen("entropy", 1.0) is best


def test_selection_setting_checked():
    with pytest.raises(PycompressError, match="--selection must be one of auto, largest, ladder"):
        replace(SMALL, selection="best")


def test_cli_folds_need_the_builtin_lenet(tmp_path):
    from pathlib import Path

    model = Path(__file__).resolve().parent.parent / "examples" / "resnet_mnist" / "resnet_mnist.pt2"
    r = run_cli("share", model, "--data", "mnist5k", "-o", tmp_path / "m.pcz", "--folds", "3")
    assert r.returncode == 2 and "--folds" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.pcz").exists()


@pytest.mark.long
def test_cli_share_with_folds(tmp_path, lenet_path):
    out, report = tmp_path / "m.pcz", tmp_path / "report"
    r = run_cli("share", lenet_path, "-o", out, "--report", report, "--max-drop", "5", "--prune-grid", "0,0.5",
                "--ks", "8,16", "--prune-budgets", "1", "--k-budgets", "0", "--steps", "1", "--step-epochs", "0",
                "--final-epochs", "1", "--codebook-epochs", "1", "--folds", "2", "--jobs", "2")
    assert r.returncode == 0, r.stderr
    data = json.loads((report / "share.json").read_text())
    assert data["selected_on"] == "validation, 2 folds (1,000 items)" and len(data["folds"]) == 1
    head = data["chosen"]["entropy@5"]
    pooled_head = next(p for p in data["pooled"] if p["variant"] == "entropy" and p["label"] == head["label"])
    assert pooled_head["validation"]["n"] == 1000 and pooled_head["validation"]["drop_bound"] <= 5
    rows = data["chosen_per_fold"]["entropy@5"]
    assert [r["fold"] for r in rows] == [0, 1] and rows[0]["test"] == head["test"]
    cm = container.load(out)
    assert cm.info["selected_on"] == data["selected_on"] and cm.info["validation_folds"]["n"] == 1000
    assert "honesty check" in (report / "README.md").read_text()

