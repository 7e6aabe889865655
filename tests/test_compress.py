"""The one-call API over modules, state_dicts and files."""
import pytest
import torch
from torch import nn

import pycompress
from pycompress.compress import CompressConfig, cast_state_dict, compress, model_stats
from pycompress.core.errors import PycompressError
from pycompress.core.verify import first_bit_difference


def test_compress_module_state_dict_and_file_agree(tmp_path):
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
    path = tmp_path / "m.safetensors"
    from safetensors.torch import save_file

    save_file(module.state_dict(), str(path))
    results = [compress(x, CompressConfig(format="fp16")) for x in (module, module.state_dict(), path)]
    # module and state_dict give the same bytes (a module may add its layer graph, and each says in
    # info why it has none, so compare without those)
    from dataclasses import replace

    blobs = {pycompress.core.container.to_bytes(replace(cm, graph=None, info={})) for cm in results[:2]}
    assert len(blobs) == 1
    expected = cast_state_dict(module.state_dict(), "fp16")
    for cm in results:  # safetensors files keep keys sorted, so compare by name
        decoded = cm.state_dict()
        assert set(decoded) == set(expected)
        for name, t in decoded.items():
            assert first_bit_difference(expected[name], t) is None


def test_quantized_tensor_is_rejected():
    q = torch.quantize_per_tensor(torch.randn(2, 2), 0.1, 0, torch.qint8)
    with pytest.raises(PycompressError, match="unsupported dtype"):
        compress({"w": torch.randn(2, 2), "q": q})


def test_unknown_format_in_config():
    with pytest.raises(PycompressError, match="unknown format"):
        CompressConfig(format="tf32")


def test_model_stats_only_counts_matrices_unless_all():
    sd = {"w": torch.randn(4, 4), "b": torch.randn(4)}
    assert [s.name for s in model_stats(sd, "bf16").layers] == ["w"]
    assert [s.name for s in model_stats(sd, "bf16", include_all=True).layers] == ["w", "b"]


def test_compressed_stats_counts_what_is_stored():
    import numpy as np

    from pycompress.schemes.codebook import make_clustered
    from pycompress.schemes.expshare import encode_bits
    from pycompress.compress import compressed_stats
    from pycompress.core.container import CompressedModel
    from pycompress.core.formats import BF16

    narrow = encode_bits(np.array([0x3F80, 0xBFC0, 0x4040, 0x4080], np.uint16), BF16, mantissa_bits=2)
    clustered = make_clustered(np.array([0x3F80, 0x4000], np.uint16), np.array([0, 1, 1, 0, 1, 0]), (2, 3), "bf16")
    cm = CompressedModel("bf16", ("a", "b"), {"a": narrow, "b": clustered}, {})
    a, b = compressed_stats(cm).layers
    assert (a.mantissa_bits, a.compressed_bits) == (2, 4 * (1 + 2 + 2) + 8 * 3)  # e=3 -> i=2, m'=2
    assert (b.scheme, b.compressed_bits) == ("cluster", 6 * 1 + 2 * 16)
    with pytest.raises(PycompressError, match="no compressed tensors"):
        compressed_stats(CompressedModel("bf16", ("c",), {}, {"c": torch.zeros(2)}))
