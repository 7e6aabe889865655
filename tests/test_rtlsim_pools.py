"""A ResNet stem's pools through `pycompress rtl` and `pycompress rtlsim` (issue 24, item 5).

tests/archs.py StemPool: stride-2 conv + BN + ReLU, MaxPool2d(3, 2, padding=1) (overlapping windows, padding
that never wins), AvgPool2d(3, 1, padding=1) (counted zeros, a window of 9: 1/9 is not a power of two),
global average pooling, linear. The default run checks what `rtl` writes (the pool units with their padding,
a lint-clean top); the Verilator run through rtlsim (bit-exact against the reference, top-1 against the
user's .pt2, cycles against the plan) is `long`. The units alone: tests/test_pool_units.py.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from archs import make
from conftest import run_cli


@pytest.fixture(scope="module")
def stem(tmp_path_factory):
    """(folder, .pt2, .npz, engine folder, rtl's stdout) of StemPool, its fixed random weights."""
    import torch

    root = tmp_path_factory.mktemp("stempool")
    m = make("StemPool")
    pt2, npz, pcz = root / "stem.pt2", root / "stem.npz", root / "stem.pcz"
    torch.export.save(torch.export.export(m, (torch.randn(2, *m.input_shape),)), str(pt2))
    rng = np.random.default_rng(0)
    np.savez(npz, x=rng.standard_normal((40, *m.input_shape)).astype(np.float32), y=rng.integers(0, 10, 40),
             x_test=rng.standard_normal((20, *m.input_shape)).astype(np.float32), y_test=rng.integers(0, 10, 20))
    r = run_cli("compress", pt2, "-o", pcz, "--format", "bf16")
    assert r.returncode == 0, r.stderr
    r = run_cli("rtl", pcz, "-o", root / "rtl")
    assert r.returncode == 0, r.stderr
    return root, pt2, npz, root / "rtl", r.stdout


@pytest.mark.sim
def test_rtl_writes_the_padded_overlapping_pools_lint_clean(stem):
    from test_rtl_lint import lint

    from pycompress.hw.rtl.render import ENGINE_TOP, FILE_LIST

    _, _, _, folder, out = stem
    assert re.search(r"\| maxpool \| - \| 8x8x8 -> 8x4x4 \|", out) and re.search(r"\| avgpool \| - \| 8x4x4 -> 8x4x4 \|", out), out
    top = (folder / f"{ENGINE_TOP}.sv").read_text()
    assert re.search(r"maxpool_unit #\(\s*\.C\(8\), \.H\(8\), \.W\(8\), \.K\(3\), \.S\(2\), \.P\(1\)\s*\)", top)
    assert re.search(r"avgpool_unit #\(\s*\.C\(8\), \.H\(4\), \.W\(4\), \.K\(3\), \.S\(1\), \.P\(1\), \.RECIP\(32'h3de38e39\)", top)
    r = lint(["-f", FILE_LIST, "--top-module", ENGINE_TOP], cwd=folder)
    assert r.returncode == 0, r.stderr


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.long
def test_rtlsim_stem_pools_bit_exact_with_cycles(stem):
    _, pt2, npz, folder, _ = stem
    r = run_cli("rtlsim", folder, "--data", npz, "--model", pt2, "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    print(res)
    assert res["images"] == 20 and res["outputs_bit_exact"] and res["mismatched_words"] == 0
    assert 0 <= res["top1_agreement_pct"] <= 100
    assert abs(res["latency_cycles"] - res["estimated_latency"]) <= 0.05 * res["estimated_latency"]
    assert abs(res["interval_cycles"] - res["estimated_interval"]) <= 0.05 * res["estimated_interval"]
