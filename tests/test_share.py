"""Weight sharing v2: pruning, codebook fine-tuning, the confidence bound, the plans and the whole search.

The search runs on a tiny MLP with synthetic data (seconds); the CLI runs once on the shipped LeNet
with the smallest settings. What they check is what the code guarantees (exact zeros, nested
masks, the gradient of a shared value, selection by the bound on validation), never a figure
that one trained model happened to reach.
"""
from __future__ import annotations

import json

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
from pycompress.sharing.bound import drop_bound, paired
from pycompress.sharing.finetune import TrainConfig, Trainer, codebook_finetune, masked_finetune, shared_gradient
from pycompress.sharing.prune import PrunedClusterer, keep_mask, prune
from pycompress.sharing.share import VARIANTS, ShareConfig, run_share
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
            ok = [c for c in result.candidates if c.variant == v and c.val.upper(SMALL.confidence) <= d]
            assert (chosen is None) == (not ok)
            if chosen is not None:  # the most compressed within the bound; the test part played no part
                assert chosen.rate == max(c.rate for c in ok)
    pruned = [c for c in result.candidates if c.variant == "prune+cluster+ft"]
    coded = [c for c in result.candidates if c.variant == "entropy" and c.label == pruned[0].label]
    assert torch.equal(coded[0].model.state_dict()["fc1.weight"], pruned[0].model.state_dict()["fc1.weight"])
    assert coded[0].bits < pruned[0].bits


def test_search_judges_the_decoded_container(small_result):
    result, state, task = small_result
    from pycompress.sharing.share_sensitivity import Judge

    judge = Judge(task, state)
    for c in result.candidates[::3]:
        back = container.from_bytes(container.to_bytes(c.model)).state_dict()
        val, test = judge.both(back)
        assert (val.correct, val.lost, test.correct) == (c.val.correct, c.val.lost, c.test.correct)


def test_bad_settings_one_line():
    for kw, pattern in (({"confidence": 1.5}, "confidence"), ({"ks": (1,)}, "every k"),
                        ({"prune_grid": (1.0,)}, "pruning ratio"), ({"steps": 0}, "steps")):
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
