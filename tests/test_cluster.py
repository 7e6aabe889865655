import itertools

import numpy as np
import pytest
import torch

from pycompress.core import container
from pycompress.sharing.cluster import (EXPSHARE, LayerClusterer, cluster_bits, cluster_state_dict, cluster_tensor,
    optimal_partition, sharing_stats)
from pycompress.schemes.codebook import ClusteredTensor
from pycompress.schemes.expshare import ExpShareTensor
from pycompress.core.errors import PycompressError
from pycompress.core.formats import tensor_bits

from conftest import run_cli


def sse_of(x, w, starts):
    bounds = list(starts) + [len(x)]
    total = 0.0
    for a, b in zip(bounds[:-1], bounds[1:]):
        m = np.average(x[a:b], weights=w[a:b])
        total += float((w[a:b] * (x[a:b] - m) ** 2).sum())
    return total


def brute_force(x, w, k):
    """Least squared error over every split of the sorted values into k contiguous groups."""
    return min(sse_of(x, w, (0, *cuts)) for cuts in itertools.combinations(range(1, len(x)), k - 1))


def test_dp_is_optimal_against_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(60):
        n = int(rng.integers(1, 10))
        x = np.unique(np.round(rng.normal(size=n), 2))
        w = rng.integers(1, 6, size=x.size).astype(float)
        part = optimal_partition(x, w, x.size)
        for k in range(1, x.size + 1):
            best = brute_force(x, w, k)
            assert part.sse[k - 1] == pytest.approx(best, rel=1e-9, abs=1e-12)
            # the partition it returns does reach that error
            assert sse_of(x, w, part.starts(k)) == pytest.approx(best, rel=1e-9, abs=1e-12)


def quadratic_dp(x, w, k_max):
    """Textbook O(k n^2) DP, no monotonicity shortcut: checks the divide-and-conquer on larger n."""
    n = x.size
    W = np.concatenate([[0], np.cumsum(w)])
    S = np.concatenate([[0], np.cumsum(w * x)])
    Q = np.concatenate([[0], np.cumsum(w * x * x)])
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = np.where(j > i, Q[j] - Q[i] - (S[j] - S[i]) ** 2 / (W[j] - W[i]), np.inf)
    d = cost[0].copy()
    out = [d[n]]
    for _ in range(2, k_max + 1):
        d = np.min(d[:, None] + cost, axis=0)
        out.append(d[n])
    return np.array(out)


def test_divide_and_conquer_matches_full_dp():
    rng = np.random.default_rng(1)
    x = np.unique(np.concatenate([rng.normal(0, 0.05, 150), rng.normal(0.3, 0.01, 60)]))
    w = rng.integers(1, 4, size=x.size).astype(float)
    part = optimal_partition(x, w, 16)
    np.testing.assert_allclose(part.sse, quadratic_dp(x, w, 16), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("fmt", ["fp32", "bf16"])
def test_decode_is_exactly_codebook_of_index(fmt):
    rng = np.random.default_rng(2)
    w = torch.from_numpy(rng.normal(0, 0.1, size=(20, 30)).astype(np.float32))
    ct = cluster_tensor(w, 8, fmt)
    assert isinstance(ct, ClusteredTensor) and ct.format == fmt and ct.k == 8 and ct.index_bits == 3
    book, idx = ct.codebook, ct.indices()
    np.testing.assert_array_equal(tensor_bits(ct.decode()).reshape(-1), book[idx])
    np.testing.assert_array_equal(ct.decode_bits().reshape(-1), book[idx])
    # codebook = optimal cluster means rounded to the format; each weight takes its nearest value
    means = LayerClusterer(w).centroids(8)
    expected = torch.from_numpy(means).to(torch.float32).to(ct.fmt.torch_dtype)
    np.testing.assert_array_equal(book, tensor_bits(expected))
    vals = ct.decode().to(torch.float64).reshape(-1).numpy()
    dist_all = np.abs(w.to(torch.float64).reshape(-1, 1).numpy() - expected.to(torch.float64).numpy()[None, :])
    np.testing.assert_array_equal(np.abs(w.to(torch.float64).reshape(-1).numpy() - vals), dist_all.min(axis=1))
    # and it survives the container byte for byte
    cm = container.CompressedModel(fmt, ("w",), {"w": ct}, {})
    back = container.from_bytes(container.to_bytes(cm)).tensors["w"]
    np.testing.assert_array_equal(back.decode_bits(), ct.decode_bits())


def test_fewer_distinct_values_than_k_is_lossless():
    w = torch.tensor([[0.5, -0.25, 0.5], [-0.0, -0.25, 0.5]])
    ct = cluster_tensor(w, 16)
    assert ct.k == 3 and ct.index_bits == 2
    np.testing.assert_array_equal(ct.decode().numpy(), w.numpy())


def test_kmeans_fallback_is_seeded_and_near_optimal():
    rng = np.random.default_rng(3)
    w = torch.from_numpy(rng.normal(0, 0.1, size=2000).astype(np.float32))
    a, b = cluster_tensor(w, 8, method="kmeans"), cluster_tensor(w, 8, method="kmeans")
    np.testing.assert_array_equal(a.codebook, b.codebook)
    dp = cluster_tensor(w, 8, method="dp")
    err = lambda ct: float(((ct.decode().double() - w.double()) ** 2).sum())  # noqa: E731
    assert err(dp) <= err(a) * (1 + 1e-9)
    assert err(a) <= 1.1 * err(dp)


def test_bad_input():
    with pytest.raises(PycompressError, match="inf or NaN"):
        cluster_tensor(torch.tensor([1.0, float("nan")]), 2)
    with pytest.raises(PycompressError, match="2..256"):
        cluster_tensor(torch.ones(4), 257)
    with pytest.raises(PycompressError, match="codebook format"):
        cluster_tensor(torch.ones(4), 2, "fp16")


def test_compression_figures_against_hand_computation():
    rng = np.random.default_rng(4)
    sd = {"conv.weight": torch.from_numpy(rng.normal(size=(6, 1, 5, 5)).astype(np.float32)),
          "conv.bias": torch.zeros(6),
          "fc.weight": torch.from_numpy(rng.normal(size=(120, 256)).astype(np.float32)),
          "fc.bias": torch.zeros(120)}
    cm = cluster_state_dict(sd, 16, "fp32")
    st = sharing_stats(cm)
    # 150*4 + 16*32 = 1112; 30720*4 + 16*32 = 123392
    assert [s.stored_bits for s in st.layers] == [1112, 123392] == [cluster_bits(150, 16), cluster_bits(30720, 16)]
    assert st.stored_bits == 124504
    assert st.rate(32) == pytest.approx(32 * 30870 / 124504)  # 7.934x
    assert st.rate(16) == pytest.approx(16 * 30870 / 124504)
    assert st.layers[0].rate(32) == pytest.approx(4800 / 1112)
    # whole model: 126 fp32 biases stored raw
    assert st.rate_all(32) == pytest.approx(32 * 30996 / (124504 + 126 * 32))
    bf = sharing_stats(cluster_state_dict(sd, 16, "bf16"))
    assert [s.stored_bits for s in bf.layers] == [150 * 4 + 16 * 16, 30720 * 4 + 16 * 16]


def test_mixed_plan_container():
    rng = np.random.default_rng(5)
    sd = {"a.weight": torch.from_numpy(rng.normal(size=(8, 9)).astype(np.float32)), "a.bias": torch.ones(8),
          "b.weight": torch.from_numpy(rng.normal(size=(4, 8)).astype(np.float32))}
    cm = container.from_bytes(container.to_bytes(cluster_state_dict(sd, {"a.weight": 4, "b.weight": EXPSHARE})))
    assert isinstance(cm.tensors["a.weight"], ClusteredTensor) and isinstance(cm.tensors["b.weight"], ExpShareTensor)
    out = cm.state_dict()
    np.testing.assert_array_equal(tensor_bits(out["b.weight"]), tensor_bits(sd["b.weight"]))  # lossless
    np.testing.assert_array_equal(tensor_bits(out["a.bias"]), tensor_bits(sd["a.bias"]))
    assert len(np.unique(out["a.weight"].numpy())) == 4
    with pytest.raises(PycompressError, match="not weight tensors"):
        cluster_state_dict(sd, {"a.bias": 4})


def test_cli_cluster_then_evaluate(tmp_path, lenet_path, lenet_state_dict):
    out = tmp_path / "c.pcz"
    r = run_cli("cluster", lenet_path, "--k", "16", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "fc1.weight" in r.stdout and "vs FP32" in r.stdout
    # deterministic: the same plan built again in-process gives the same bytes
    again = cluster_state_dict(lenet_state_dict, 16, info=container.load(out).info)
    assert container.to_bytes(again) == out.read_bytes()
    r = run_cli("evaluate", out, "--json")
    assert r.returncode == 0, r.stderr
    import json
    from pycompress.frontends.lenet import accuracy, load_lenet
    assert json.loads(r.stdout)["accuracy"] == accuracy(load_lenet(again.state_dict()))
    cm = container.load(out)
    assert all(isinstance(t, ClusteredTensor) and t.k == min(16, t.numel) for t in cm.tensors.values())


def test_cli_cluster_errors(tmp_path, lenet_path):
    for args, message in ((["--k", "1", "-o", tmp_path / "c.pcz"], "2..256"),
                          (["--k", "4", "-o", tmp_path / "c.bin"], "must end in .pcz")):
        r = run_cli("cluster", lenet_path, *args)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_clustered_lenet_carries_its_layer_graph(lenet_state_dict):
    """The HLS and RTL generators need the graph: clustered containers of the default LeNet have it."""
    from pycompress.frontends.graph_builtin import infer_graph

    cm = cluster_state_dict(lenet_state_dict, 4)
    assert cm.graph is not None and cm.graph == infer_graph(lenet_state_dict)
    assert container.from_bytes(container.to_bytes(cm)).graph == cm.graph
