import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pycompress.core.errors import PycompressError
from pycompress.core.formats import (BF16, FORMATS, FP16, FP32, FP64, bits_tensor, get_format, join_fields,
    split_fields, tensor_bits, to_format)


def test_widths_and_bias():
    assert [(f.exponent_bits, f.mantissa_bits, f.total_bits, f.bias) for f in (FP32, BF16, FP16, FP64)] == [
        (8, 23, 32, 127), (8, 7, 16, 127), (5, 10, 16, 15), (11, 52, 64, 1023)]
    assert [f.decimal_digits for f in (FP32, BF16, FP16, FP64)] == [6, 2, 3, 15]


@pytest.mark.parametrize("fmt", [BF16, FP16], ids=lambda f: f.name)
def test_split_join_exhaustive_16bit(fmt):
    bits = np.arange(1 << 16, dtype=np.uint16)
    s, e, m = split_fields(bits, fmt)
    assert s.max() == 1 and e.max() == fmt.max_exponent_field and m.max() == (1 << fmt.mantissa_bits) - 1
    np.testing.assert_array_equal(join_fields(s, e, m, fmt), bits)
    # the tensor view round-trips every pattern, NaN payloads included
    np.testing.assert_array_equal(tensor_bits(bits_tensor(bits, fmt)), bits)


@pytest.mark.parametrize("fmt", [FP32, FP64], ids=lambda f: f.name)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_split_join_random_wide(fmt, data):
    n = data.draw(st.integers(0, 64))
    words = data.draw(st.lists(st.integers(0, (1 << fmt.total_bits) - 1), min_size=n, max_size=n))
    bits = np.array(words, dtype=fmt.uint_dtype)
    s, e, m = split_fields(bits, fmt)
    np.testing.assert_array_equal(join_fields(s, e, m, fmt), bits)


def test_fields_of_known_values():
    s, e, m = split_fields(tensor_bits(torch.tensor([1.0, -2.0, 0.0, -0.0], dtype=torch.float32)), FP32)
    assert s.tolist() == [0, 1, 0, 1] and e.tolist() == [127, 128, 0, 0] and m.tolist() == [0, 0, 0, 0]


def test_bf16_matches_torch_round_to_nearest_even():
    rng = np.random.default_rng(1)
    words = rng.integers(0, 1 << 32, size=200_000, dtype=np.uint64).astype(np.uint32)
    x = torch.from_numpy(words.view(np.float32))
    ours = tensor_bits(to_format(x, BF16))
    theirs = x.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    np.testing.assert_array_equal(ours, theirs)
    # ties go to even: 1 + 2^-8 is halfway between two BF16 values
    tie = torch.tensor([1.0 + 2.0 ** -8], dtype=torch.float32)
    assert tensor_bits(to_format(tie, BF16))[0] == 0x3F80


def test_fp16_matches_numpy():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(10_000).astype(np.float32) * 1e3
    np.testing.assert_array_equal(tensor_bits(to_format(x, FP16)), x.astype(np.float16).view(np.uint16))


def test_unknown_format_and_dtype():
    with pytest.raises(PycompressError, match="unknown format"):
        get_format("fp8")
    with pytest.raises(PycompressError, match="unsupported dtype"):
        to_format(torch.arange(3), FP32)
    assert set(FORMATS) == {"fp32", "bf16", "fp16", "fp64"}
