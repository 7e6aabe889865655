"""ESART (Algorithm 4) on any PyTorch model: constraint honoured by the exported weights, records, thresholds."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from pycompress.core.errors import PycompressError
from pycompress.lossy.esart import EsartConfig, esart
from pycompress.core.formats import BF16, split_fields, tensor_bits
from pycompress.lossy.iterative import Thresholds
from pycompress.lossy.mantissa import Constraint, bits_schedule, decimal_schedule


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread avoids oversubscription on a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(600, 8, generator=g)
    y = (x @ torch.randn(8, 3, generator=g)).argmax(1)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    loader = DataLoader(TensorDataset(x[:400], y[:400]), batch_size=50, shuffle=True, generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(8):  # "pre-trained" input model
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()

    @torch.no_grad()
    def evaluate(m):
        m.eval()
        return 100.0 * float((m(x[400:]).argmax(1) == y[400:]).float().mean())

    return model, loader, evaluate


def factory(params):
    return torch.optim.Adam(params, lr=1e-3)


@pytest.mark.parametrize("projection", ["epoch", "ste"])
def test_decimal_esart_exports_rounded_weights_and_records_their_accuracy(projection):
    model, loader, evaluate = problem()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    res = esart(model, loader, evaluate, factory, decimal_schedule("fp32", k_start=3, k_stop=2),
                EsartConfig(format="fp32", epochs=1, projection=projection, thresholds=Thresholds(max_drop=100)), show=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()), "the input model is not modified"
    assert [r.label for r in res.records] == ["lossless", "k=3", "k=2"]
    assert all(r.seconds > 0 for r in res.records)
    assert res.baseline_accuracy == evaluate(model)
    for rec, cm in zip(res.records[1:], res.models[1:]):
        k = int(rec.label.split("=")[1])
        sd = cm.state_dict()
        for name in ("0.weight", "2.weight"):
            w = sd[name].double().numpy()
            assert np.array_equal(w, np.round(w, k).astype(np.float32).astype(np.float64)), f"{name} not at {k} decimals"
        probe = problem()[0]
        probe.load_state_dict(sd)
        assert evaluate(probe) == rec.accuracy  # the recorded accuracy is that of the exported weights


def test_bits_esart_with_exponent_cap_holds_constraint():
    model, loader, evaluate = problem(1)
    schedule = bits_schedule("bf16", m_start=4, m_stop=3, exponent_method="a3", index_bits=2)
    res = esart(model, loader, evaluate, factory, schedule, EsartConfig(format="bf16", epochs=1, projection="ste",
                                                                        thresholds=Thresholds(max_drop=100)), show=False)
    assert [r.mantissa_bits for r in res.records] == [7, 4, 3]
    for rec, cm in zip(res.records[1:], res.models[1:]):
        for name, st in cm.tensors.items():
            assert st.mantissa_bits == rec.mantissa_bits and st.distinct_exponents <= 4
            _, _, m = split_fields(tensor_bits(st.decode()).reshape(-1), BF16)
            assert not (m & np.uint16((1 << (7 - rec.mantissa_bits)) - 1)).any()


def test_esart_stops_at_threshold():
    model, loader, _ = problem(2)
    start = {k: v.clone() for k, v in model.state_dict().items()}

    def closeness(m):  # 100 for the input weights, lower for any change: independent of what training reaches
        return 100.0 - sum(float((m.state_dict()[k] - v).abs().sum()) for k, v in start.items())

    res = esart(model, loader, closeness, factory, [Constraint(decimal_digits=0), Constraint(decimal_digits=3)],
                EsartConfig(format="fp32", epochs=1, thresholds=Thresholds(max_drop=0.0)), show=False)
    # iteration 1 trains and rounds to integers, so the weights change: with a zero bound the run stops there
    assert len(res.records) == 2 and not res.records[1].accepted and res.best == 0


def test_bad_config():
    with pytest.raises(PycompressError):
        EsartConfig(projection="sometimes")
    with pytest.raises(PycompressError):
        EsartConfig(epochs=0)
    model, loader, evaluate = problem()
    with pytest.raises(PycompressError):
        esart(model, loader, evaluate, factory, [])
