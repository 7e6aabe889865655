"""Weight sharing v2: pruning, codebook fine-tuning, the confidence bound, the plans and the whole search.

The search runs on a tiny MLP with synthetic data (seconds); the CLI runs once on the shipped LeNet
with the smallest settings. What they check is what the code guarantees (exact zeros, nested
masks, the gradient of a shared value, selection by the bound on validation), never a figure
that one trained model happened to reach.
"""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from pycompress.core import container
from pycompress.core.errors import PycompressError
from pycompress.frontends.datasets import Dataset
from pycompress.frontends.evaluator import Task
from pycompress.frontends.lenet import torch_threads
from pycompress.schemes.coded_codebook import CodedClusterTensor
from pycompress.sharing.bound import Paired, drop_bound, paired, prediction_bound
from pycompress.sharing.finetune import TrainConfig, Trainer, codebook_finetune, masked_finetune, shared_gradient
from pycompress.sharing.prune import PrunedClusterer, keep_mask, prune
from pycompress.sharing.share import VARIANTS, Judged, ShareConfig, rule_bound, run_share, select, walk_steps
from pycompress.sharing.share_plan import LayerOptions, greedy_plans

from conftest import run_cli


# ---------------------------------------------------------------- the bound

def test_bound_is_paired_and_conservative():
    assert drop_bound(0, 0, 500, 0.9) > 0  # no discordant item is evidence, not proof
    assert drop_bound(3, 1, 500, 0.9) > drop_bound(2, 1, 500, 0.9) > drop_bound(1, 1, 500, 0.9)
    assert drop_bound(1, 1, 500, 0.95) > drop_bound(1, 1, 500, 0.9) > drop_bound(1, 1, 500, 0.5) == pytest.approx(0.0)
    assert drop_bound(1, 1, 5000, 0.9) < drop_bound(1, 1, 500, 0.9)
    # Agresti-Min by hand: 0.5 added to each cell of the 2x2 table
    b, c, m, z = 2.5, 0.5, 502, 1.2815515655446004
    assert drop_bound(2, 0, 500, 0.9) == pytest.approx(100 * ((b - c) / m + z * np.sqrt(((b + c) - (b - c) ** 2 / m) / m ** 2)))
    p = paired(torch.tensor([True, True, False, False]), torch.tensor([True, False, True, False]))
    assert (p.n, p.correct, p.lost, p.gained, p.drop) == (4, 2, 1, 1, 0.0)
    with pytest.raises(PycompressError):
        drop_bound(1, 1, 500, 1.0)


def test_prediction_bound_adds_the_new_part_sampling():
    # the drop a new part of future_n items shows varies around the true drop: wider than the confidence bound,
    # the wider the smaller the part, and the confidence bound again as the part grows without end
    for lost, gained, n in ((9, 6, 4000), (2, 0, 500), (0, 0, 500), (30, 5, 4000)):
        assert prediction_bound(lost, gained, n, 1000, 0.9) > prediction_bound(lost, gained, n, 10_000, 0.9) > drop_bound(lost, gained, n, 0.9)
        assert prediction_bound(lost, gained, n, 10 ** 12, 0.9) == pytest.approx(drop_bound(lost, gained, n, 0.9), abs=1e-6)
    b, c, m, z = 9.5, 6.5, 4002, 1.2815515655446004
    v = (b + c) / m - ((b - c) / m) ** 2
    assert prediction_bound(9, 6, 4000, 1000, 0.9) == pytest.approx(100 * ((b - c) / m + z * np.sqrt(v * (1 / m + 1 / 1000))))
    with pytest.raises(PycompressError, match="invalid paired counts"):
        prediction_bound(1, 1, 500, 0, 0.9)


# ---------------------------------------------------------------- selection rules

def test_walk_steps_follow_the_ladder():
    # a pruned variant walks its rungs at the smallest codebook budget; other budgets are off the walk
    assert walk_steps([0, 0, 4, 4, 8, 2], [0, 0.5, 0, 0.5, 0, 0]) == [(0,), None, (4,), None, (8,), (2,)]
    # a variant without pruning walks its codebook budgets
    assert walk_steps([0, 0, 0], [0.5, 0, 0.25]) == [(0.5,), (0,), (0.25,)]


def test_ladder_stops_at_the_first_failure_largest_does_not():
    rows = [Judged(10.0, 0.1, (0,)), Judged(20.0, 0.3, (1,)), Judged(15.0, None, (2,)),  # a fold lacks rung 2
            Judged(25.0, 0.7, (4,)), Judged(40.0, 0.2, (8,)),  # rung 4 fails: rung 8 is never reached
            Judged(60.0, 0.1, None)]  # off the walk (another codebook budget)
    assert select(rows, 0.5, walk=True) == 1  # the most compressed passed: rung 1
    assert select(rows, 0.5, walk=False) == 5  # the most compressed within the bound, wherever it is
    assert select(rows, 0.05, walk=True) is None and select(rows, 0.05, walk=False) is None
    assert select(rows, 1.0, walk=True) == 4
    # the walk's order is its steps', not the rows' order or rates
    shuffled = [rows[4], rows[0], rows[3], rows[1]]
    assert select(shuffled, 0.5, walk=True) == 3


def test_rules_resolve_and_bound_what_they_say():
    from pycompress.sharing.share_config import AUTO_RULES, RULES

    cfg = ShareConfig()
    assert (cfg.rule(False).name, cfg.rule(True).name) == (AUTO_RULES[False], AUTO_RULES[True])
    assert cfg.rule(True) == RULES["ladder"] and cfg.rule(False) == RULES["largest"]
    assert ShareConfig(selection="ladder").rule(False) == RULES["ladder"]  # a named rule ignores the folds
    assert ShareConfig(selection="largest").rule(True) == RULES["largest"]
    assert ShareConfig(confidence=0.8).rule(True).confidence == 0.8  # --confidence replaces the rule's own
    assert (cfg.shown_confidence, ShareConfig(confidence=0.8).shown_confidence) == (0.9, 0.8)
    p = Paired(4000, 3900, 9, 6)
    assert rule_bound(RULES["largest"], p, 1000) == p.upper(0.9)
    assert rule_bound(replace(RULES["ladder"], bound="confidence", confidence=0.95), p, 1000) == p.upper(0.95)
    assert rule_bound(RULES["ladder"], p, 1000) == p.predicted(1000, 0.9) > p.upper(0.9)
    assert all(r.bound in ("confidence", "prediction") and 0.5 <= r.confidence < 1 for r in RULES.values())


# ---------------------------------------------------------------- pruning and pruned clustering

def test_masks_are_exact_nested_and_leave_plus_zero():
    w = torch.randn(40, 50, generator=torch.Generator().manual_seed(0))
    w[0, :5] = 0.25  # ties: the first positions go first
    masks = [keep_mask(w, r) for r in (0.0, 0.3, 0.6, 0.9)]
    assert [int((~m).sum()) for m in masks] == [0, 600, 1200, 1800]
    assert all(bool((~hi | lo).all()) for lo, hi in zip(masks, masks[1:]))  # kept at a higher ratio => kept at a lower
    p = prune(w, 0.9)
    assert not torch.signbit(p[p == 0]).any()
    assert int((prune(p, 0.95) == 0).sum()) == 1900 and bool((prune(p, 0.95)[p == 0] == 0).all())


@pytest.mark.parametrize("k", [2, 3, 8, 32])
def test_pruned_clustering_keeps_the_zeros(k):
    w = prune(torch.randn(3000, generator=torch.Generator().manual_seed(k)), 0.8)
    ct = PrunedClusterer(w, 64).clustered(k, "bf16")
    d = ct.decode().to(torch.float32)
    assert ct.k <= k and bool(((d == 0) == (w == 0)).all())
    assert int(ct.codebook[0]) == 0 and not bool(torch.signbit(d[d == 0]).any())


# ---------------------------------------------------------------- the plans

def test_greedy_plans_are_nested_and_within_budget():
    layers = [LayerOptions("big", (0.0, 0.5, 0.9), (0.0, 0.2, 5.0), (0.0, 500.0, 900.0)),
              LayerOptions("small", (0.0, 0.5, 0.9), (0.0, 0.1, 0.3), (0.0, 5.0, 9.0))]
    plans = greedy_plans(layers, (0.0, 0.25, 1.0, 10.0), eps=0.01)
    # budget 1 adds nothing: its best move (big to 0.9) does not fit, and the plan stops rather than take worse ones
    assert plans == [(0.0, (0.0, 0.0)), (0.25, (0.5, 0.0)), (10.0, (0.9, 0.9))]
    positions = [[layers[i].settings.index(s) for i, s in enumerate(p)] for _, p in plans]
    assert all(all(a <= b for a, b in zip(x, y)) for x, y in zip(positions, positions[1:]))


# ---------------------------------------------------------------- fine-tuning on a tiny model

class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


_TINY: dict = {}


def tiny_task(seed: int = 0) -> tuple[dict[str, torch.Tensor], Task]:
    """A 3-class problem and a small MLP trained on it (once per process)."""
    if seed not in _TINY:
        _TINY[seed] = _train_tiny(seed)
    return _TINY[seed]


def _train_tiny(seed: int) -> tuple[dict[str, torch.Tensor], Task]:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(3, 8, generator=g) * 2
    y = torch.randint(0, 3, (900,), generator=g)
    x = centres[y] + torch.randn(900, 8, generator=g)
    torch.manual_seed(seed)
    model = Tiny()
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(40):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[:600]), y[:600]).backward()
        opt.step()
    data = Dataset("tiny", x[:600], y[:600], x[600:750], y[600:750], x[750:], y[750:])

    def build(sd):
        m = Tiny()
        m.load_state_dict({k: v.to(torch.float32) for k, v in sd.items()})
        return m.eval()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, Task(build, data)


def test_shared_gradient_is_the_sum_over_members():
    g = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    index = torch.tensor([1, 0, 1, 2])
    frozen = torch.tensor([False, False, True])
    assert shared_gradient(g, index, 3, frozen).tolist() == [2.0, 4.0, 0.0]


def test_finetuning_keeps_zeros_indices_and_exact_values():
    state, task = tiny_task()
    x, y = task.data.part("train")
    trainer = Trainer(x, y, task.build(state), TrainConfig(shift=0))
    with torch_threads(1, deterministic=True):
        model = task.build(state)
        keep = {"fc1.weight": keep_mask(state["fc1.weight"], 0.7)}
        masked_finetune(trainer, model, keep, 2, seed=1)
        w = model.state_dict()["fc1.weight"]
        assert bool((w[~keep["fc1.weight"]] == 0).all()) and not bool(torch.signbit(w[w == 0]).any())
        ct = {"fc1.weight": PrunedClusterer(w).clustered(5, "bf16"), "fc2.weight": PrunedClusterer(state["fc2.weight"]).clustered(4, "bf16")}
        before = {n: c.indices() for n, c in ct.items()}
        tuned = codebook_finetune(trainer, model, ct, 2, seed=2)
    for n, c in tuned.items():
        assert np.array_equal(c.decode_bits(), tensor_bits_of(model.state_dict()[n], c.format))  # the model holds the stored values
        assert np.array_equal(np.asarray(c.codebook)[c.indices()] == 0, np.asarray(ct[n].codebook)[before[n]] == 0)
    assert tuned["fc1.weight"].k <= 5 and bool((model.state_dict()["fc1.weight"][~keep["fc1.weight"]] == 0).all())


def tensor_bits_of(t: torch.Tensor, fmt: str) -> np.ndarray:
    from pycompress.core.formats import get_format, tensor_bits

    return tensor_bits(t.to(get_format(fmt).torch_dtype))


# ---------------------------------------------------------------- the whole search

SMALL = ShareConfig(max_drops=(5.0, 1.0), prune_grid=(0.0, 0.5, 0.8), ks=(3, 8), prune_levels=(2.0, 50.0),
                    k_levels=(0.0, 1.0), steps=1, step_epochs=1, final_epochs=1, codebook_epochs=1, stop_drop=50.0,
                    train=TrainConfig(shift=0, batch=50))


@pytest.fixture(scope="module")
def small_result():
    state, task = tiny_task()
    with torch_threads(1, deterministic=True):
        return run_share(state, task, SMALL), state, task


def test_search_candidates_and_selection(small_result):
    result, state, task = small_result
    assert {c.variant for c in result.candidates} == set(VARIANTS)
    assert result.rungs and all(0 < r["ratios"]["fc1.weight"] <= 0.8 for r in result.rungs)
    for c in result.candidates:
        sd = c.model.state_dict()
        assert all(n in sd for n in state)
        coded = all(isinstance(c.model.tensors[n], CodedClusterTensor) for n in result.names)
        assert coded == (c.variant == "entropy")
        assert c.file_bytes == sum(a.nbytes for n in result.names for a in c.model.tensors[n].arrays().values())
    for d in SMALL.max_drops:
        for v in VARIANTS:
            chosen = result.chosen(v, d)
            ok = [c for c in result.candidates if c.variant == v and c.val.upper(result.rule.confidence) <= d]
            assert (chosen is None) == (not ok)
            if chosen is not None:  # the most compressed within the bound; the test part played no part
                assert chosen.rate == max(c.rate for c in ok)
    pruned = [c for c in result.candidates if c.variant == "prune+cluster+ft"]
    coded = [c for c in result.candidates if c.variant == "entropy" and c.label == pruned[0].label]
    assert torch.equal(coded[0].model.state_dict()["fc1.weight"], pruned[0].model.state_dict()["fc1.weight"])
    assert coded[0].bits < pruned[0].bits


def test_duplicate_plans_name_the_rung_below(small_result):
    """A budget whose plan equals the rung below gets that rung's candidates under its own labels, so a label is one
    setting in every fold; below the first rung and from a stopping rung up there is nothing to name."""
    from types import SimpleNamespace

    from pycompress.sharing.share import _Run

    result = small_result[0]
    proto = {v: next(c for c in result.candidates if c.variant == v) for v in ("cluster+ft", "prune+cluster+ft", "entropy")}
    made = [replace(proto[v], label=f"prune {r:g} / k 0", rung=r) for r in (2.0, 8.0) for v in ("prune+cluster+ft", "entropy")]
    unpruned = replace(proto["cluster+ft"], label="k 0", rung=0.0)
    run = SimpleNamespace(cfg=replace(SMALL, prune_levels=(1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)),
                          candidates=[unpruned, *made], say=lambda _m: None)
    _Run.alias_rungs(run, [{"allowance": 2.0}, {"allowance": 8.0}, {"allowance": 32.0, "stopped": True}])
    added = {(c.variant, c.label): c for c in run.candidates[1 + len(made):]}
    assert set(added) == {(v, f"prune {b} / k 0") for v in ("prune+cluster+ft", "entropy") for b in (4, 16)}
    for (v, label), c in added.items():
        below = "prune 2 / k 0" if label.startswith("prune 4 ") else "prune 8 / k 0"
        assert c.same_as == below and c.rung == float(label.split()[1])
        assert c.model is next(m for m in made if (m.variant, m.label) == (v, below)).model


def test_search_judges_the_decoded_container(small_result):
    result, state, task = small_result
    from pycompress.sharing.share_sensitivity import Judge

    judge = Judge(task, state)
    for c in result.candidates[::3]:
        back = container.from_bytes(container.to_bytes(c.model)).state_dict()
        val, test = judge.both(back)
        assert (val.correct, val.lost, test.correct) == (c.val.correct, c.val.lost, c.test.correct)


def test_plans_see_validation_inputs_only_when_asked(small_result):
    _result, state, task = small_result
    from pycompress.sharing.share_sensitivity import Judge

    xv, xt = task.data.part("validation")[0], task.data.part("train")[0]
    both, train = Judge(task, state, plan_inputs="validation+train"), Judge(task, state)
    assert torch.equal(both.plan_x, torch.cat([xv, xt])) and torch.equal(train.plan_x, xt)
    assert torch.equal(Judge(task, state, 7, "train").plan_x, xt[:7])
    assert torch.equal(Judge(task, state, len(xv) + 3, "validation+train").plan_x, torch.cat([xv, xt[:3]]))


def test_bad_settings_one_line():
    for kw, pattern in (({"confidence": 1.5}, "confidence"), ({"ks": (1,)}, "every k"),
                        ({"prune_grid": (1.0,)}, "pruning ratio"), ({"steps": 0}, "steps"),
                        ({"plan_inputs": "test"}, "plan-inputs")):
        with pytest.raises(PycompressError, match=pattern):
            ShareConfig(**kw)


@pytest.mark.slow
def test_cli_share_on_lenet(tmp_path, lenet_path):
    out, report = tmp_path / "m.pcz", tmp_path / "report"
    r = run_cli("share", lenet_path, "-o", out, "--report", report, "--max-drop", "5,1", "--prune-grid", "0,0.5",
                "--ks", "8,16", "--prune-budgets", "1", "--k-budgets", "0", "--steps", "1", "--step-epochs", "1",
                "--final-epochs", "0", "--codebook-epochs", "1")
    assert r.returncode == 0, r.stderr
    data = json.loads((report / "share.json").read_text())
    head = data["chosen"]["entropy@5"]
    assert head["validation"]["drop_bound"] <= 5 and head["test"]["n"] == 1000
    cm = container.load(out)
    assert cm.info["test"]["correct"] == head["test"]["correct"] and cm.info["selected_on"] == "validation (500 items)"
    assert {"README.md", "share.json", "ratio_vs_test.png", "sensitivity.png", "models", ".pycompress.json"} == {
        p.name for p in report.iterdir()}  # the last: the folder's manifest (what pycompress wrote there)
    for pcz in (report / "models").iterdir():
        ev = run_cli("evaluate", pcz)
        assert ev.returncode == 0, ev.stderr
    again = run_cli("share", lenet_path, "-o", out, "--report", report, "--k-budgets", "x")
    assert again.returncode == 2 and "Traceback" not in again.stderr
    (report / "mine.txt").write_text("a user's file")  # a report folder holding another file is not replaced
    again = run_cli("share", lenet_path, "-o", tmp_path / "n.pcz", "--report", report)
    assert again.returncode == 2 and "refusing to replace it" in again.stderr and (report / "mine.txt").exists()
