import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pycompress.core import bitpack
from pycompress.schemes.expshare import encode, encode_bits, index_bits_for
from pycompress.core.errors import PycompressError
from pycompress.core.formats import BF16, FORMATS, FP16, FP32, FP64, bits_tensor, split_fields, tensor_bits


def assert_bits_equal(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.reshape(-1), b.reshape(-1))


def test_index_bits():
    assert [index_bits_for(e) for e in (0, 1, 2, 3, 4, 5, 8, 9, 16, 17, 256)] == [1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 8]


@pytest.mark.parametrize("fmt", [BF16, FP16], ids=lambda f: f.name)
def test_every_16bit_pattern_round_trips(fmt):
    bits = np.arange(1 << 16, dtype=np.uint16)
    enc = encode_bits(bits, fmt)
    assert enc.distinct_exponents == 1 << fmt.exponent_bits
    assert enc.index_bits == fmt.exponent_bits
    assert_bits_equal(enc.decode_bits(), bits)
    # and shuffled, so the index stream is not monotone
    perm = np.random.default_rng(0).permutation(bits).reshape(256, 256)
    assert_bits_equal(encode_bits(perm, fmt).decode_bits(), perm)


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_arbitrary_bit_patterns_round_trip(fmt_name, data):
    fmt = FORMATS[fmt_name]
    n = data.draw(st.integers(0, 300))
    words = data.draw(st.lists(st.integers(0, (1 << fmt.total_bits) - 1), min_size=n, max_size=n))
    bits = np.array(words, dtype=fmt.uint_dtype)
    enc = encode_bits(bits, fmt)
    assert_bits_equal(enc.decode_bits(), bits)
    # through torch tensors of the format, too
    t = bits_tensor(bits, fmt)
    assert_bits_equal(tensor_bits(encode(t).decode()), bits)


@pytest.mark.parametrize("fmt", [FP32, BF16, FP16, FP64], ids=lambda f: f.name)
def test_special_values(fmt):
    specials = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1.0, -1.5, 1e-40, -1e-45], dtype=torch.float64)
    t = specials.to(fmt.torch_dtype)
    bits = tensor_bits(t).copy()
    # NaN payloads: set every mantissa bit pattern we can think of on a NaN
    nan_payloads = np.array([(fmt.max_exponent_field << fmt.mantissa_bits) | p for p in (1, 2, (1 << fmt.mantissa_bits) - 1)], dtype=fmt.uint_dtype)
    nan_payloads = np.concatenate([nan_payloads, nan_payloads | (fmt.uint_dtype.type(1) << fmt.uint_dtype.type(fmt.total_bits - 1))])
    bits = np.concatenate([bits, nan_payloads])
    assert_bits_equal(encode_bits(bits, fmt).decode_bits(), bits)


def test_edge_tensors():
    one = torch.tensor([[3.25]])
    enc = encode(one, "fp32")
    assert enc.distinct_exponents == 1 and enc.index_bits == 1
    assert_bits_equal(tensor_bits(enc.decode()), tensor_bits(one))

    same_exp = torch.tensor([1.0, 1.5, -1.25, 1.75]).reshape(2, 2)
    enc = encode(same_exp, "bf16")
    assert enc.distinct_exponents == 1 and enc.exponent_table.tolist() == [127]

    all_nan = torch.full((3, 5), float("nan"))
    enc = encode(all_nan, "fp32")
    assert enc.distinct_exponents == 1
    assert_bits_equal(tensor_bits(enc.decode()), tensor_bits(all_nan))

    empty = torch.zeros(0, 4)
    enc = encode(empty, "fp16")
    assert enc.decode().shape == (0, 4) and enc.stored_bits() == 0


def test_negative_zero_survives():
    t = torch.tensor([-0.0, 0.0])
    out = encode(t, "bf16").decode()
    assert tensor_bits(out).tolist() == [0x8000, 0x0000]


@pytest.mark.parametrize("fmt", [FP32, BF16, FP16, FP64], ids=lambda f: f.name)
def test_stored_size_matches_eq1(fmt):
    rng = np.random.default_rng(3)
    w = torch.from_numpy(rng.standard_normal((37, 53)) * 0.05)
    enc = encode(w, fmt)
    n, e, i = w.numel(), enc.distinct_exponents, enc.index_bits
    eq1 = n * (1 + i + fmt.mantissa_bits) + fmt.exponent_bits * e
    assert enc.stored_bits() == eq1
    stored_bytes = enc.sign.nbytes + enc.index.nbytes + enc.mantissa.nbytes
    table_bytes = -(-fmt.exponent_bits * e // 8)
    assert 0 <= (stored_bytes + table_bytes) * 8 - eq1 < 4 * 8  # at most padding in each of the four fields


def test_fields_and_table_are_what_the_hardware_reads():
    t = torch.tensor([0.5, -4.0, 0.75, 0.0])
    enc = encode(t, "bf16")
    sign, index, mantissa = enc.fields()
    s, e, m = split_fields(tensor_bits(t.to(torch.bfloat16)), BF16)
    assert sign.tolist() == s.tolist()
    assert enc.exponent_table[index].tolist() == e.tolist()
    assert mantissa.tolist() == m.tolist()
    assert enc.exponent_table.tolist() == sorted(set(e.tolist()))
    assert int(index.max()) == enc.distinct_exponents - 1  # the last entry is reached


def test_narrow_mantissa_storage():
    bits = np.array([0x3F80, 0xBFC0, 0x4040], dtype=np.uint16)  # low 5 mantissa bits zero
    enc = encode_bits(bits, BF16, mantissa_bits=2)
    assert enc.mantissa_bits == 2 and enc.index_bits == 1 and enc.stored_bits() == 3 * (1 + 1 + 2) + 8 * 2
    assert_bits_equal(enc.decode_bits(), bits)
    with pytest.raises(PycompressError, match="not zero"):
        encode_bits(np.array([0x3F81], np.uint16), BF16, mantissa_bits=2)


def test_corrupt_index_is_caught():
    enc = encode(torch.tensor([1.0, 2.0, 4.0]), "fp32")  # 3 entries, 2-bit index
    from dataclasses import replace

    bad = replace(enc, index=bitpack.pack(np.array([0, 1, 3], np.uint8), 2))
    with pytest.raises(PycompressError, match="beyond exponent table"):
        bad.decode_bits()


def test_rejects_integer_tensor():
    with pytest.raises(PycompressError, match="unsupported dtype"):
        encode(torch.arange(4))
