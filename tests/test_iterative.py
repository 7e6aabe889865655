"""Algorithm 1 driver: index bits per iteration, stopping rules, records, Eq. 1 figures, the exported container."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pycompress.core import container
from pycompress.schemes.expshare import index_bits_for
from pycompress.core.formats import BF16, split_fields, tensor_bits
from pycompress.lossy.iterative import Thresholds, approximate_state_dict, finalize, iterative_approximation


def toy_state_dict(seed=0):
    g = torch.Generator().manual_seed(seed)
    def w(*shape, spread=2.0):
        return torch.randn(*shape, generator=g) * torch.exp(torch.randn(*shape, generator=g) * spread) * 0.05
    return {"a.weight": w(40, 30), "a.bias": w(40), "b.weight": w(10, 40), "c.weight": torch.tensor([[0.5, 1.0], [2.0, 0.25]])}


def distinct(t):
    return int(np.unique(split_fields(tensor_bits(t.to(torch.bfloat16)).reshape(-1), BF16)[1]).size)


def l1_eval(reference):
    """A deterministic stand-in for accuracy: 100 minus the weights' mean absolute change (in %)."""
    ref = {k: v.double() for k, v in reference.items()}
    def evaluate(sd):
        err = sum(float((sd[k].double() - ref[k]).abs().sum()) for k in ref) / sum(float(v.abs().sum()) for v in ref.values())
        return 100.0 * (1.0 - err)
    return evaluate


def eq1(n, e, m=7, l=8):
    return n * (1 + index_bits_for(e) + m) + l * e


def test_each_iteration_removes_one_index_bit_down_to_two():
    sd = toy_state_dict()
    i0 = index_bits_for(distinct(sd["a.weight"]))
    assert i0 >= 4
    for k in range(1, 6):
        out = approximate_state_dict(sd, "bf16", "a2", "magnitude", k)
        assert index_bits_for(distinct(out["a.weight"])) <= max(2, i0 - k)
        assert distinct(out["a.weight"]) <= 2 ** max(2, i0 - k)
        assert torch.equal(out["c.weight"], sd["c.weight"].to(torch.bfloat16))  # under 3 index bits: skipped
        assert torch.equal(out["a.bias"], sd["a.bias"].to(torch.bfloat16))  # 1-D: not encoded


def test_records_memory_by_eq1_and_changed_weights():
    sd = toy_state_dict(1)
    res = iterative_approximation(sd, "bf16", "a2", "magnitude", l1_eval(sd), 100.0, Thresholds(max_drop=1e9), show=False)
    assert res.records[0].label == "lossless" and res.records[0].approximated_pct == 0.0
    cast = {k: v.to(torch.bfloat16) for k, v in sd.items()}
    for rec, cm in zip(res.records, res.models):
        dec = cm.state_dict()
        names = ["a.weight", "b.weight", "c.weight"]
        comp = sum(eq1(dec[n].numel(), distinct(dec[n])) for n in names)
        orig = sum(dec[n].numel() * 16 for n in names)
        assert rec.compressed_bits == comp and rec.original_bits == orig
        assert rec.savings_pct == pytest.approx(100 * (orig - comp) / orig)
        assert rec.savings_fp32_pct == pytest.approx(100 * (2 * orig - comp) / (2 * orig))
        changed = sum(int((tensor_bits(dec[n]) != tensor_bits(cast[n])).sum()) for n in names)
        assert rec.approximated_pct == pytest.approx(100 * changed / sum(dec[n].numel() for n in names))
        assert rec.index_bits == {n: index_bits_for(distinct(dec[n])) for n in names}
        assert rec.accuracy == pytest.approx(l1_eval(sd)(dec))
    savings = [r.savings_pct for r in res.records]
    assert savings == sorted(savings) and len(res.records) >= 3
    assert res.best == len(res.records) - 1  # every iteration accepted; stopped when nothing changed


def test_stops_on_accuracy_drop_and_keeps_last_successful():
    sd = toy_state_dict(2)
    full = iterative_approximation(sd, "bf16", "a1", "magnitude", l1_eval(sd), 100.0, Thresholds(max_drop=100), show=False)
    drops = [r.drop for r in full.records]
    limit = (drops[1] + drops[2]) / 2  # iteration 1 passes, iteration 2 fails
    assert drops[1] < limit < drops[2]
    res = iterative_approximation(sd, "bf16", "a1", "magnitude", l1_eval(sd), 100.0, Thresholds(max_drop=limit), show=False)
    assert [r.accepted for r in res.records] == [True, True, False]
    assert res.best == 1 and res.best_record.iteration == 1


def test_stops_on_min_saving():
    sd = toy_state_dict(3)
    res = iterative_approximation(sd, "bf16", "a2", "frequency", l1_eval(sd), 100.0, Thresholds(max_drop=100, min_saving=99.0),
                                  show=False)
    assert [r.accepted for r in res.records] == [True, False] and res.best == 0


def test_finalize_carries_info_and_round_trips(tmp_path):
    sd = toy_state_dict(4)
    res = iterative_approximation(sd, "bf16", "a3", "magnitude", l1_eval(sd), 100.0, show=False)
    cm = finalize(res, "toy")
    path = tmp_path / "toy.pcz"
    container.save(cm, path)
    back = container.load(path)
    assert back.info["method"] == "a3-magnitude" and back.info["iteration"] == res.best_record.iteration
    assert back.info["accuracy"] == res.best_record.accuracy
    assert len(back.info["records"]) == len(res.records)
    assert l1_eval(sd)(back.state_dict()) == res.best_record.accuracy
