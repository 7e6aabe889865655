"""Table 3 baselines on the default LeNet: magnitude pruning (torch.nn.utils.prune) and int8 PTQ (torch.ao)."""
from __future__ import annotations

import pytest
import torch

from pycompress.lossy.baselines import int8_ptq, magnitude_prune, pruned_copy
from pycompress.core.errors import PycompressError
from pycompress.frontends.lenet import accuracy, load_lenet, mnist_split


@pytest.fixture(autouse=True)
def one_thread():
    from pycompress.lossy.study import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def lenet(lenet_state_dict):
    return load_lenet(lenet_state_dict)


def test_pruning_zeroes_the_smallest_weights_of_each_layer(lenet):
    pruned = pruned_copy(lenet, 40.0, "bf16")
    after = pruned.state_dict()
    for name, w0 in lenet.state_dict().items():
        w1 = after[name]
        if w0.dim() < 2:
            assert torch.equal(w0, w1)
            continue
        k = round(0.4 * w0.numel())
        assert int((w1 == 0).sum()) >= k
        threshold = w0.abs().flatten().sort().values[k - 1]
        kept = w0.abs() > threshold
        assert torch.equal(w1[kept], w0[kept].to(torch.bfloat16).float()), name  # survivors only rounded to bf16
        assert (w1[w0.abs() < threshold] == 0).all()


def test_pruning_result_figures(lenet):
    res = magnitude_prune(lenet, 40.0, accuracy, "bf16")
    n = sum(p.numel() for p in lenet.parameters() if p.dim() >= 2)
    assert res.original_bits == 16 * n and res.savings_pct == pytest.approx(40.0, abs=1e-3)
    assert res.accuracy == accuracy(pruned_copy(lenet, 40.0, "bf16"))
    with pytest.raises(PycompressError):
        magnitude_prune(lenet, 100.0, accuracy)


def test_int8_ptq_runs_and_costs_8_bits_per_weight(lenet):
    split = mnist_split()
    seen = []

    def evaluate(quantized):
        seen.append(quantized)
        return accuracy(quantized)

    res = int8_ptq(lenet, [split.x_train[:200]], split.x_train[:4], evaluate, "bf16")
    n = sum(p.numel() for p in lenet.parameters() if p.dim() >= 2)
    assert 8 * n < res.weight_bits < 8 * n + 64 * 300  # plus per-channel scale/zero-point pairs
    assert res.savings_pct == pytest.approx(100 * (16 * n - res.weight_bits) / (16 * n))
    assert res.accuracy == accuracy(seen[0])
    # what quantisation guarantees: each int8 weight is its float weight to within half a step
    floats = {name: m.weight.detach() for name, m in lenet.named_modules() if getattr(m, "weight", None) is not None}
    checked = 0
    for name, m in seen[0].named_modules():
        w = m.weight() if callable(getattr(m, "weight", None)) else None
        if isinstance(w, torch.Tensor) and w.is_quantized:
            scales = w.q_per_channel_scales().to(torch.float32).view(-1, *([1] * (w.dim() - 1)))
            assert ((w.dequantize() - floats[name]).abs() <= scales / 2 + 1e-6).all(), name
            checked += 1
    assert checked == 5
