"""Issue 14, item 5: a mid-size model (~0.7 M weights, ResNet18 layout) through stats, compress and
approximate --data prints per-tensor progress and round-trips bit-exact. Peak memory on a
ResNet18-sized model is measured by benchmarks/bench_large_model.py, not here."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_large_model", ROOT / "benchmarks" / "bench_large_model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cli(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYCOMPRESS_PROGRESS_S": "0"}  # a progress line per tensor
    r = subprocess.run([sys.executable, "-m", "pycompress", *map(str, args)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def mid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mid")
    st, pt2, npz, n = _bench().make_inputs(folder, 16, 10)
    assert 500_000 < n < 1_500_000
    return folder, st, pt2, npz


def _lines(stderr: str, what: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"pycompress: {what}: ")]


def test_stats_and_compress_print_progress_and_round_trip(mid):
    from safetensors.torch import load_file

    from pycompress.core import container
    from pycompress.core.formats import tensor_bits

    folder, st, _, _ = mid
    sd = load_file(str(st))
    n_tensors = len(sd)
    assert len(_lines(cli("stats", st).stderr, "statistics in bf16")) == n_tensors
    r = cli("compress", st, "-o", folder / "m.pcz", "--format", "bf16")
    assert len(_lines(r.stderr, "encoding in bf16")) == n_tensors
    verify = _lines(r.stderr, "verifying the round trip")
    assert len(verify) == n_tensors and verify[-1].startswith(f"pycompress: verifying the round trip: {n_tensors}/{n_tensors} tensors")
    decoded = container.load(folder / "m.pcz").state_dict()
    assert list(decoded) == list(sd)
    for name, t in sd.items():
        want = t.to(torch.bfloat16) if t.is_floating_point() else t
        assert decoded[name].dtype == want.dtype
        if t.is_floating_point():
            assert np.array_equal(tensor_bits(decoded[name]), tensor_bits(want)), name
        else:
            assert torch.equal(decoded[name], want), name


def test_approximate_with_data_prints_progress_and_its_container_round_trips(mid):
    from pycompress.core import container
    from pycompress.core.formats import tensor_bits

    folder, _, pt2, npz = mid
    out = folder / "a.pcz"
    r = cli("approximate", pt2, "-o", out, "--data", npz, "--format", "bf16", "--max-iterations", "2", "--max-drop", "100")
    assert _lines(r.stderr, "approximating (iteration 1)") and _lines(r.stderr, "approximating (iteration 2)")
    assert "[a2-magnitude] iter 2" in r.stderr
    cm = container.load(out)
    assert cm.graph is not None and cm.info["iteration"] == 2
    again = folder / "again.pcz"
    container.save(cm, again)
    a, b = cm.state_dict(), container.load(again).state_dict()
    assert list(a) == list(b)
    for name in a:
        assert np.array_equal(tensor_bits(a[name]), tensor_bits(b[name])) if a[name].is_floating_point() else torch.equal(a[name], b[name])


def _same_records(a, b) -> None:
    drop = lambda r: {k: v for k, v in r.to_dict().items() if k != "seconds"}  # noqa: E731
    assert [drop(r) for r in a.records] == [drop(r) for r in b.records] and a.best == b.best


def _same_container(a, b) -> None:
    from pycompress.core.formats import tensor_bits

    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb) and all(np.array_equal(tensor_bits(sa[k]), tensor_bits(sb[k])) for k in sa)
    assert {k: v for k, v in a.info.items() if k != "records"} == {k: v for k, v in b.info.items() if k != "records"}


def test_mantissa_and_esart_keep_only_the_chosen_container_and_write_the_same_file():
    """keep_models="best" (the commands) frees every other iteration's container; the study's "all" keeps them."""
    from test_esart import factory, problem

    from pycompress.lossy.esart import EsartConfig, esart
    from pycompress.lossy.iterative import Thresholds, finalize
    from pycompress.frontends.lenet import torch_threads
    from pycompress.lossy.mantissa import bits_schedule, mantissa_approximation

    def mantissa(keep):
        model, _, evaluate = problem()
        probe = problem()[0]

        def eval_fn(sd):
            probe.load_state_dict({k: v.float() for k, v in sd.items()})
            return evaluate(probe)
        return mantissa_approximation(model.state_dict(), "bf16", bits_schedule("bf16", 6, 0), eval_fn, evaluate(model),
                                      Thresholds(max_drop=5.0), show=False, keep_models=keep)

    def retrain(keep):
        model, loader, evaluate = problem(1)
        return esart(model, loader, evaluate, factory, bits_schedule("bf16", 4, 2),
                     EsartConfig(format="bf16", epochs=1, thresholds=Thresholds(max_drop=100)), show=False,
                     keep_models=keep, in_place=keep == "best")

    with torch_threads(1, deterministic=True):
        for run in (mantissa, retrain):
            every, best = run("all"), run("best")
            _same_records(every, best)
            assert len(best.records) >= 3 and all(m is not None for m in every.models)
            assert [m is not None for m in best.models] == [j == best.best for j in range(len(best.records))]
            _same_container(finalize(every), finalize(best))
