import json
import struct

import numpy as np
import pytest
import torch

from pycompress.core import container
from pycompress.compress import CompressConfig, cast_state_dict, compress_state_dict
from pycompress.core.errors import PycompressError
from pycompress.core.verify import first_bit_difference


def small_state_dict():
    g = torch.Generator().manual_seed(0)
    return {
        "conv.weight": torch.randn(4, 1, 3, 3, generator=g) * 0.1,
        "conv.bias": torch.randn(4, generator=g),
        "fc.weight": torch.randn(5, 36, generator=g) * 0.05,
        "bn.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
        "mask": torch.tensor([True, False, True]),
        "half": torch.randn(3, 3, generator=g).half(),
    }


SMALL_GRAPH = {"version": 1, "input_shape": [1, 5, 5], "dataset": None, "layers": [
    {"op": "conv2d", "name": "conv", "weight": "conv.weight", "bias": "conv.bias", "in_channels": 1, "out_channels": 4,
     "kernel": [3, 3], "stride": 1, "padding": [0, 0]},
    {"op": "flatten", "name": "flat"},
    {"op": "linear", "name": "fc", "weight": "fc.weight", "bias": None, "in_features": 36, "out_features": 5}]}


@pytest.mark.parametrize("fmt", ["fp32", "bf16", "fp16", "fp64"])
def test_round_trip_bit_exact(tmp_path, fmt):
    sd = small_state_dict()
    cm = compress_state_dict(sd, CompressConfig(format=fmt), graph=SMALL_GRAPH, info={"k": 1})
    path = tmp_path / "m.pcz"
    container.save(cm, path)
    back = container.load(path)
    assert back.format == fmt and back.graph == SMALL_GRAPH and back.info == {"k": 1}
    assert set(back.tensors) == {"conv.weight", "fc.weight", "half"}
    expected = cast_state_dict(sd, fmt)
    decoded = back.state_dict()
    assert list(decoded) == list(sd)
    for name in sd:
        assert first_bit_difference(expected[name], decoded[name]) is None, name


def test_include_all_encodes_biases():
    cm = compress_state_dict(small_state_dict(), CompressConfig(format="bf16", include_all=True))
    assert "conv.bias" in cm.tensors and "bn.num_batches_tracked" not in cm.tensors


def test_deterministic_bytes():
    a = container.to_bytes(compress_state_dict(small_state_dict(), CompressConfig()))
    b = container.to_bytes(compress_state_dict(small_state_dict(), CompressConfig()))
    assert a == b


def test_every_flipped_byte_is_detected():
    blob = bytearray(container.to_bytes(compress_state_dict(small_state_dict(), CompressConfig(format="bf16"))))
    undetected = []
    for pos in range(len(blob)):
        flipped = bytearray(blob)
        flipped[pos] ^= 0x01
        try:
            container.from_bytes(bytes(flipped))
        except PycompressError:
            continue
        undetected.append(pos)
    assert not undetected, f"flips at {undetected[:10]} not detected"


def test_truncated_file(tmp_path):
    blob = container.to_bytes(compress_state_dict(small_state_dict(), CompressConfig()))
    for cut in (0, 4, 100, len(blob) // 2, len(blob) - 1):
        with pytest.raises(PycompressError, match="truncated|corrupt"):
            container.from_bytes(blob[:cut])


def test_newer_version_is_refused():
    blob = container.to_bytes(compress_state_dict(small_state_dict(), CompressConfig()))
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen])
    meta = json.loads(header["__metadata__"]["pycompress"])
    meta["format_version"] = container.FORMAT_VERSION + 1
    text = json.dumps(meta, sort_keys=True, separators=(",", ":"))
    import hashlib

    header["__metadata__"]["pycompress"] = text
    header["__metadata__"]["pycompress_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    new_header = json.dumps(header).encode()
    new_header += b" " * (-len(new_header) % 8)
    forged = struct.pack("<Q", len(new_header)) + new_header + blob[8 + hlen:]
    with pytest.raises(PycompressError, match="newer pycompress"):
        container.from_bytes(forged)


def test_not_a_pcz(tmp_path):
    from safetensors.numpy import save

    with pytest.raises(PycompressError, match="not a pycompress"):
        container.from_bytes(save({"x": np.zeros(3, np.uint8)}))
    with pytest.raises(PycompressError, match="no such file"):
        container.load(tmp_path / "missing.pcz")
