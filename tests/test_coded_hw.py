"""Hardware decoders of entropy-coded codebook indices (`cluster_huffman`): the lane packer, the HLS decoder in
C simulation (g++) and rtl/coded_decoder.sv under Verilator, bit for bit against the Python decode.

The model is the shipped LeNet pruned and clustered without training (fast, deterministic), coded
the way `pycompress share` codes its chosen models; the committed chosen models run through the same
paths in `sim/coded_harness.py` (make sharing-hw).
"""
from __future__ import annotations

import numpy as np
import pytest

from pycompress.core.container import CompressedModel
from pycompress.hw.coded_layout import CodedTables, coded_tables, model_coded_tables
from pycompress.schemes import coded_codebook_kernels as kernels
from pycompress.schemes.coded_codebook import encode_indices, from_clustered
from pycompress.sharing.prune import PrunedClusterer, prune

LANES = {"conv1.weight": 2, "conv2.weight": 4, "fc1.weight": 8, "fc2.weight": 4, "fc3.weight": 2}


@pytest.fixture(scope="module")
def coded_lenet(lenet_state_dict) -> CompressedModel:
    plan = {"conv1.weight": (0.3, 16), "conv2.weight": (0.7, 12), "fc1.weight": (0.9, 8), "fc2.weight": (0.9, 8),
            "fc3.weight": (0.5, 16)}
    tensors = {n: from_clustered(PrunedClusterer(prune(lenet_state_dict[n], r)).clustered(k, "bf16"))
               for n, (r, k) in plan.items()}
    return CompressedModel("fp32", tuple(tensors), tensors, {})


@pytest.mark.parametrize("lanes", [1, 2])
def test_lane_streams_decode_to_the_tensor(coded_lenet, lanes):
    for t in model_coded_tables(coded_lenet, {n: lanes for n in LANES}):
        assert sorted(np.concatenate([ln.order for ln in t.lanes]).tolist()) == list(range(t.decoded.size))
        for p in range(len(t.lanes)):
            assert np.array_equal(t.decode_lane(p), t.expected(p))
        assert t.window <= 12 and t.lut_bits <= 16


def test_relabelled_images_decode_the_same_weights():
    """A wider simulator build moves the run entry to RUN_INDEX 0 and run symbols to its K: no weight changes."""
    from pycompress.hw.rtl.coded import relabel, widest_shape

    rng = np.random.default_rng(3)
    idx = np.where(rng.random(4000) < 0.8, 5, rng.integers(0, 7, 4000))  # the run entry is 5, not 0
    st = encode_indices(np.arange(7, dtype=np.uint16) + 100, idx, (8, 500), "bf16")
    t = coded_tables("w", "w", st, 2)
    shape = widest_shape("bf16")
    entries, book = relabel(t, shape)
    for p, lane in enumerate(t.lanes):
        out = np.empty(lane.count, np.uint16)
        code = np.concatenate([lane.code, np.zeros(kernels.READ_AHEAD, np.uint8)])
        end = kernels.walk(code, lane.code_bits, (entries >> 4).astype(np.uint16), (entries & 15).astype(np.uint8),
                           shape.window, shape.k, shape.run_index, lane.count, out, True)
        assert end == lane.code_bits and np.array_equal(book[out], t.expected(p))


@pytest.mark.csim
def test_hls_decoder_bit_exact(coded_lenet, tmp_path):
    from pycompress.hw.hls.coded import csim

    tables = model_coded_tables(coded_lenet, LANES)
    out = csim(tables, tmp_path / "csim")
    for t in tables:
        for p in range(len(t.lanes)):
            got, want = out[t.name][p], t.expected(p)
            bad = np.flatnonzero(got != want)
            assert got.size == want.size and not bad.size, f"{t.name} lane {p}: first difference at {bad[:1]}"


@pytest.mark.sim
def test_rtl_decoder_bit_exact_one_weight_per_clock(coded_lenet, tmp_path):
    import sys

    from conftest import REPO

    sys.path.insert(0, str(REPO / "sim"))
    from coded_harness import run_tensor

    for name in ("conv1.weight", "fc3.weight"):
        t: CodedTables = model_coded_tables(coded_lenet, LANES)[list(LANES).index(name)]
        for r in run_tensor(tmp_path / t.ident, t):
            n = r["n"] // 2
            assert r["passed"], r
            assert r["cycles"] == n + 5  # runs cost no bubble: one weight per clock from the first


@pytest.mark.sim
@pytest.mark.parametrize("params", [{"MAN_BITS": 7, "K": 32, "RUN_INDEX": 0, "SYM_BITS": 7, "L": 8, "COUNT_BITS": 15},
                                    {"MAN_BITS": 23, "K": 3, "RUN_INDEX": 2, "SYM_BITS": 2, "L": 3, "COUNT_BITS": 5},
                                    {"MAN_BITS": 7, "K": 256, "RUN_INDEX": 0, "SYM_BITS": 10, "L": 12}])
def test_rtl_decoder_lint_clean(params):
    import subprocess
    import sys

    from conftest import REPO

    sys.path.insert(0, str(REPO / "sim"))
    import harness
    from pycompress.hw.rtl.coded import coded_sources

    harness.setup_tools()
    r = subprocess.run(["verilator", "--lint-only", "-Wall", *map(str, coded_sources()), "--top-module", "coded_decoder",
                        "-GEXP_BITS=8", *[f"-G{k}={v}" for k, v in params.items()]], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
