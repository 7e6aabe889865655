import numpy as np
import pytest
import torch

from pycompress.core import container
from pycompress.schemes.codebook import codebook_index_bits, make_clustered
from pycompress.core.errors import PycompressError
from pycompress.core.formats import FP32, tensor_bits


def test_index_bits():
    assert [codebook_index_bits(k) for k in (1, 2, 3, 4, 5, 16, 17, 256)] == [1, 1, 2, 2, 3, 4, 5, 8]


@pytest.mark.parametrize("fmt", ["fp32", "bf16"])
def test_decode_is_codebook_of_index_and_survives_container(fmt):
    rng = np.random.default_rng(0)
    book = torch.tensor([-0.5, -0.0, 0.125, 3.0, float("nan")]).to({"fp32": torch.float32, "bf16": torch.bfloat16}[fmt])
    idx = rng.integers(0, 5, size=(7, 9))
    ct = make_clustered(tensor_bits(book), idx, (7, 9), fmt)
    assert ct.index_bits == 3 and ct.stored_bits() == 63 * 3 + 5 * (32 if fmt == "fp32" else 16)
    np.testing.assert_array_equal(ct.decode_bits(), tensor_bits(book)[idx])
    cm = container.CompressedModel(fmt, ("w",), {"w": ct}, {})
    back = container.from_bytes(container.to_bytes(cm)).tensors["w"]
    np.testing.assert_array_equal(back.decode_bits(), tensor_bits(book)[idx])


def test_bad_codebooks():
    with pytest.raises(PycompressError, match="codebook format"):
        make_clustered(np.zeros(2, np.uint16), np.zeros(4, int), (4,), "fp16")
    with pytest.raises(PycompressError, match="beyond codebook"):
        make_clustered(np.zeros(2, np.uint32), np.array([0, 2]), (2,), FP32)
