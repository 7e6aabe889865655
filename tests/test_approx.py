"""Algorithm 2 (A1/A2/A3) and saliency: each method's defining property on small tensors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pycompress.lossy.approx import approximate_bits, index_target, nearest_exponents, salient_exponents
from pycompress.core.errors import PycompressError
from pycompress.core.formats import BF16, FP32, bits_tensor, split_fields, tensor_bits


def layer(seed: int = 0, n: int = 600, fmt=BF16) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, generator=g) * torch.exp(torch.randn(n, generator=g) * 2.0) * 0.05
    w[:3] = torch.tensor([0.0, -0.0, 1e-39])  # zero, negative zero, an fp32 subnormal
    return tensor_bits(w.to(fmt.torch_dtype))


def exps(bits, fmt=BF16) -> np.ndarray:
    return split_fields(bits.reshape(-1), fmt)[1].astype(np.int64)


def test_salient_by_magnitude_takes_largest_fields():
    e = np.array([120, 121, 121, 125, 125, 125, 126, 118])
    assert salient_exponents(e, 3, "magnitude").tolist() == [121, 125, 126]


def test_salient_by_frequency_ties_go_to_larger_exponent():
    e = np.array([120, 120, 121, 121, 125, 126, 126, 126])
    # 126 (3 uses), then a tie between 120 and 121 (2 uses): the larger exponent wins
    assert salient_exponents(e, 2, "frequency").tolist() == [121, 126]


def test_a1_keeps_zero_counted_among_salient():
    e = np.array([120, 121, 125, 126])
    assert salient_exponents(e, 2, "magnitude", keep_zero=True).tolist() == [0, 126]


@pytest.mark.parametrize("fmt", [BF16, FP32])
@pytest.mark.parametrize("method", ["a1", "a2", "a3"])
@pytest.mark.parametrize("saliency", ["magnitude", "frequency"])
@pytest.mark.parametrize("target", [1, 2, 4, 8])
def test_distinct_exponents_at_most_target(fmt, method, saliency, target):
    bits = layer(1, fmt=fmt)
    out = approximate_bits(bits, fmt, method, saliency, target)
    assert out.dtype == fmt.uint_dtype and out.shape == bits.shape
    assert np.unique(exps(out, fmt)).size <= max(target, 1 if method != "a1" else 1)
    salient = set(salient_exponents(exps(bits, fmt), target, saliency, keep_zero=method == "a1").tolist())
    unchanged = np.isin(exps(bits, fmt), list(salient))
    assert np.array_equal(out.reshape(-1)[unchanged], bits.reshape(-1)[unchanged]), "salient weights must stay bit-exact"


@pytest.mark.parametrize("saliency", ["magnitude", "frequency"])
def test_a1_zeroes_exactly_the_non_salient(saliency):
    bits = layer(2)
    out = approximate_bits(bits, BF16, "a1", saliency, 4)
    salient = salient_exponents(exps(bits), 4, saliency, keep_zero=True)
    non = ~np.isin(exps(bits), salient)
    assert non.any()
    assert (out.reshape(-1)[non] == 0).all()


@pytest.mark.parametrize("saliency", ["magnitude", "frequency"])
def test_a2_outputs_are_salient_values_and_nearest(saliency):
    bits = layer(3)
    out = approximate_bits(bits, BF16, "a2", saliency, 4)
    salient = salient_exponents(exps(bits), 4, saliency)
    is_sal = np.isin(exps(bits), salient)
    salient_values = set(bits.reshape(-1)[is_sal].tolist())
    assert set(out.reshape(-1).tolist()) <= salient_values
    # nearest by brute force on the small tensor
    sv = bits_tensor(np.array(sorted(salient_values), BF16.uint_dtype), BF16).double().numpy()
    q = bits_tensor(bits.reshape(-1)[~is_sal], BF16).double().numpy()
    got = bits_tensor(out.reshape(-1)[~is_sal], BF16).double().numpy()
    best = np.abs(q[:, None] - sv[None, :]).min(axis=1)
    assert np.allclose(np.abs(got - q), best, rtol=0, atol=0)


@pytest.mark.parametrize("saliency", ["magnitude", "frequency"])
def test_a3_exponents_salient_mantissa_zero_sign_kept(saliency):
    bits = layer(4)
    out = approximate_bits(bits, BF16, "a3", saliency, 4)
    salient = salient_exponents(exps(bits), 4, saliency)
    non = ~np.isin(exps(bits), salient)
    s0, e0, _ = split_fields(bits.reshape(-1)[non], BF16)
    s1, e1, m1 = split_fields(out.reshape(-1)[non], BF16)
    assert np.isin(e1, salient).all() and (m1 == 0).all() and (s1 == s0).all()
    assert np.array_equal(e1.astype(np.int64), nearest_exponents(salient, e0.astype(np.int64)))
    assert np.isin(exps(out), salient).all()


def test_nearest_exponent_tie_goes_up():
    assert nearest_exponents(np.array([120, 124]), np.array([122, 121, 123, 130, 100])).tolist() == [124, 120, 124, 124, 120]


def test_a2_and_a3_differ_where_the_nearest_value_has_a_mantissa():
    w = torch.tensor([0.75, 1.5, 3.0, 0.25, 0.2], dtype=torch.bfloat16)  # salient by magnitude (2): fields of 1.5 and 3.0
    bits = tensor_bits(w)
    a2 = bits_tensor(approximate_bits(bits, BF16, "a2", "magnitude", 2), BF16).float().tolist()
    a3 = bits_tensor(approximate_bits(bits, BF16, "a3", "magnitude", 2), BF16).float().tolist()
    assert a2 == [1.5, 1.5, 3.0, 1.5, 1.5]
    assert a3 == [1.0, 1.5, 3.0, 1.0, 1.0]


def test_nothing_to_do_returns_copy():
    bits = tensor_bits(torch.tensor([1.0, 2.0], dtype=torch.bfloat16))
    assert np.array_equal(approximate_bits(bits, BF16, "a2", "magnitude", 4), bits)


def test_index_target_skips_small_layers_and_floors_at_two():
    assert [index_target(5, k) for k in range(5)] == [5, 4, 3, 2, 2]
    assert index_target(2, 3) == 2 and index_target(1, 1) == 1


def test_bad_method_is_a_user_error():
    with pytest.raises(PycompressError):
        approximate_bits(layer(), BF16, "a4", "magnitude", 2)
    with pytest.raises(PycompressError):
        salient_exponents(np.array([1, 2]), 0, "magnitude")
