"""The RTL reference model's FP32 widening equals torch's vectorised `.float()` bit for bit."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sim"))
from refmodel import widen_fp32_bits  # noqa: E402


def _torch_float_bits(bits: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    t = torch.from_numpy(bits.view(np.int16).copy()).view(dtype)
    return t.float().view(torch.int32).numpy().view(np.uint32)


def test_fp16_every_pattern_matches_torch():
    a = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    np.testing.assert_array_equal(widen_fp32_bits(a, "fp16"), _torch_float_bits(a, torch.float16))


def test_bf16_every_pattern_matches_torch():
    a = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    np.testing.assert_array_equal(widen_fp32_bits(a, "bf16"), _torch_float_bits(a, torch.bfloat16))


def test_fp16_special_values():
    a = np.array([0x0000, 0x8000, 0x0001, 0x03FF, 0x7C00, 0xFC00, 0x7C01, 0x7E00, 0xFFFF], np.uint16)
    assert [hex(v) for v in widen_fp32_bits(a, "fp16")] == [
        "0x0", "0x80000000", "0x33800000", "0x387fc000", "0x7f800000", "0xff800000", "0x7fc02000", "0x7fc00000",
        "0xffffe000"]


def test_fp32_is_identity():
    a = np.array([0, 0x80000000, 1, 0x7F800001, 0xFFFFFFFF], np.uint32)
    np.testing.assert_array_equal(widen_fp32_bits(a, "fp32"), a)
