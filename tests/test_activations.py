"""The float32 activations (pycompress/hw/activations.py, hls_templates/activations.h.j2): the numpy
reference and the C++ the kernel compiles agree bit for bit on every input class (normal, subnormal,
zeros of both signs, infinities, NaN, the range limits); the piecewise-linear ones equal torch bit for
bit; the transcendental ones stay within their documented distance of torch."""
from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pycompress.hw import activations as A

DATA = __import__("pathlib").Path(__file__).parent / "data" / "activations"
FUNCTIONS = ("exp", "tanh", "sigmoid", "silu", "gelu", "gelu_tanh", "hardtanh", "leaky_relu", "hardsigmoid", "hardswish")


def _inputs() -> np.ndarray:
    rng = np.random.default_rng(0)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-39, -1e-39, 88.0, 88.0001, -87.0,
                         -87.0001, 44.0, 44.0001, 0.625, -0.625, 0.62499994, 3.0, -3.0, 6.0, 1e30, -1e30], np.float32)
    bits = rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32).view(np.float32)  # every class of float
    scaled = np.concatenate([rng.standard_normal(20000) * s for s in (0.01, 1, 5, 50)]).astype(np.float32)
    return np.concatenate([specials, np.float32(-1) * specials, bits, scaled]).astype(np.float32)


def _numpy(fn: str, x: np.ndarray, a: float, b: float) -> np.ndarray:
    if fn == "exp":
        return A.exp(x)
    params = {"hardtanh": (a, b), "leaky_relu": (a,)}.get(fn, ())
    return A.activation(fn, params, x)


def test_piecewise_linear_equal_torch_bit_for_bit():
    x = _inputs()
    x = x[(x != 0) & np.isfinite(x)]  # torch's own CPU paths disagree on the sign of a zero result
    t = torch.from_numpy(x)
    for fn, params, want in (("hardtanh", (0.0, 6.0), F.relu6(t)), ("hardtanh", (-0.5, 4.0), F.hardtanh(t, -0.5, 4.0)),
                             ("leaky_relu", (0.1,), F.leaky_relu(t, 0.1)), ("hardsigmoid", (), F.hardsigmoid(t)),
                             ("hardswish", (), F.hardswish(t))):
        got = A.activation(fn, params, x)
        assert np.array_equal(got.view(np.uint32), want.numpy().view(np.uint32)), fn


# max |ours - torch| on |x| < 20 (measured by this test; the module docstring quotes them)
BOUNDS = {"sigmoid": 1.2e-7, "tanh": 1.2e-7, "silu": 2e-6, "gelu": 2e-6, "gelu_tanh": 1e-6}


@pytest.mark.parametrize("fn", sorted(BOUNDS))
def test_transcendental_within_their_bound_of_torch(fn):
    x = _inputs()
    x = x[np.isfinite(x) & (np.abs(x) < 20)]
    want = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "silu": F.silu, "gelu": F.gelu,
            "gelu_tanh": lambda t: F.gelu(t, approximate="tanh")}[fn](torch.from_numpy(x)).numpy()
    assert np.max(np.abs(A.activation(fn, (), x) - want)) <= BOUNDS[fn]


def test_softmax_and_scale_shift():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((50, 10)) * 8).astype(np.float32)
    y = A.softmax(x)
    np.testing.assert_allclose(y, torch.softmax(torch.from_numpy(x), 1).numpy(), atol=2e-7)
    x4 = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    s, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    want = (torch.from_numpy(x4) * torch.from_numpy(s).reshape(1, 3, 1, 1) + torch.from_numpy(b).reshape(1, 3, 1, 1))
    assert np.array_equal(A.scale_shift(x4, s, b).view(np.uint32), want.numpy().view(np.uint32))


@pytest.mark.csim
def test_cpp_equals_numpy_bit_for_bit(tmp_path):
    from pycompress.hw.hls.project import CXXFLAGS
    from pycompress.hw.hls.templates import render

    if shutil.which("g++") is None:
        pytest.skip("g++ not installed")
    shutil.copy(DATA / "harness.cpp", tmp_path)
    shutil.copy(DATA / "defines.h", tmp_path)
    (tmp_path / "activations.h").write_text(render("activations.h.j2", c=A.CONSTANTS, needs=A.helpers(A.HELPERS)))
    lib = tmp_path / "act.so"
    flags = [f for f in CXXFLAGS if f != "-DPYC_STANDALONE_CSIM"]
    subprocess.run(["g++", *flags, "-o", str(lib), str(tmp_path / "harness.cpp")], check=True)
    so = ctypes.CDLL(str(lib))
    x = _inputs()
    for k, fn in enumerate(FUNCTIONS):
        for a, b in ((0.1, 0.0), (-0.5, 4.0)) if fn in ("hardtanh", "leaky_relu") else ((0.0, 0.0),):
            y = np.empty_like(x)
            so.pyc_apply(k, x.ctypes.data_as(ctypes.c_void_p), y.ctypes.data_as(ctypes.c_void_p), len(x),
                         ctypes.c_float(a), ctypes.c_float(b))
            want = _numpy(fn, x, a, b if fn == "hardtanh" else 0.0)
            if fn == "hardtanh" and not a < b:
                continue
            diff = np.flatnonzero(y.view(np.uint32) != want.view(np.uint32))
            assert diff.size == 0, f"{fn}: x={x[diff[0]]!r} C++ {y[diff[0]]!r} numpy {want[diff[0]]!r}"
