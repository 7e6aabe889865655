"""`generate --dataflow`: layers as concurrent processes under DATAFLOW, ReLU fused, average pooling by a
multiplier. Real g++ C simulation, bit for bit against the numpy reference; estimates checked by hand."""
from __future__ import annotations

import numpy as np
import pytest

from pycompress.compress import CompressConfig, compress, compress_state_dict
from pycompress.core.errors import PycompressError
from pycompress.hw.hls.csim import run_csim
from pycompress.hw.hls.estimates import estimate
from pycompress.hw.hls.reference import reciprocal
from pycompress.hw.hls.writer import generate, render_project


@pytest.fixture(scope="module")
def bf16(lenet_state_dict):
    return compress_state_dict(lenet_state_dict, CompressConfig("bf16"))


def test_average_pool_multiplies_by_the_float32_reciprocal():
    """For k*k a power of two the product is the quotient bit for bit (the digits CNN's 2x2 pool); otherwise
    the reference multiplies, as the kernel does, and differs from a division on some sums."""
    x = np.random.default_rng(0).standard_normal(100_000).astype(np.float32)
    assert np.array_equal((x * reciprocal(4)).view(np.uint32), (x / np.float32(4)).view(np.uint32))
    assert np.any((x * reciprocal(49)).view(np.uint32) != (x / np.float32(49)).view(np.uint32))


def test_dataflow_kernel_text(bf16):
    """ReLUs after conv/linear are fused (no function, no buffer); buffers are local (ping-pong), not static."""
    files = render_project(bf16, dataflow=True)
    cpp = files["firmware/pycompress_top.cpp"]
    top = cpp[cpp.index("void pycompress_top("):]
    assert "#pragma HLS DATAFLOW" in top and "static float" not in top
    assert cpp.count("the next ReLU, fused into the last store") == 4 and "static void l1_relu1" not in cpp
    sequential = render_project(bf16, dataflow=False)["firmware/pycompress_top.cpp"]
    assert sequential.count("fused into the last store") == 4  # both modes
    assert "l1_relu1(" not in top and "pyc_read_input(" in top and "pyc_write_output(" in top
    assert "DATAFLOW" not in sequential and "static float" in sequential
    assert render_project(bf16) == files  # a chain of layers is a dataflow kernel by default


def test_dataflow_refuses_a_residual_graph():
    from tests.test_hls_resnet import tiny_resnet

    cm = compress(tiny_resnet(), CompressConfig("bf16"))
    with pytest.raises(PycompressError, match=r"--dataflow needs a chain of layers, .* read by 2 layers") as e:
        render_project(cm, dataflow=True)
    assert "\n" not in str(e.value)
    assert estimate(cm)["compressed"].dataflow_summary() is None


def test_dataflow_estimate_by_hand(bf16):
    """Interval = slowest process, latency = their sum, each from the checker's II and depth; at conv1 6x2,
    conv2 8x2, fc1 4 lanes, conv2 (150 x 2 groups x 8 x 4 pixel steps, II 1, depth 14) is the slowest."""
    lanes = {"conv1": (6, 2), "conv2": (8, 2), "fc1": (4, 1), "fc2": (2, 1), "fc3": (1, 1)}
    e = estimate(bf16, parallel=lanes, dataflow=True)["compressed"]
    d = e.dataflow_summary()
    conv2 = next(l for l in e.layers if l.name == "conv2")
    assert (conv2.trip_counts, conv2.ii, conv2.pipeline_depth) == ((1, 6, 5, 5, 2, 8, 4), 1, 14)
    assert d["interval"] == conv2.cycles == 150 * 2 * 8 * 4 - 1 + 14 + 2 == 9_615 and d["slowest"] == "conv2"
    relus = [l for l in e.layers if l.op == "relu"]  # all four follow a conv/linear: fused, no process
    assert relus and all(l.fused and l.cycles == 0 for l in relus)
    assert d["latency"] == e.cycles == sum(l.cycles for l in e.layers) + sum(e.io)
    assert d["ddr_interval"] >= d["interval"] and d["bram18k"] == 2 * e.buffer_bram18k + e.weight_bram18k


@pytest.mark.csim
def test_dataflow_digits_cnn_bit_exact(tmp_path):
    """The digits CNN (average pooling by the reciprocal, fused ReLUs) as a dataflow kernel, on its 500 test digits."""
    from tests.test_hls_csim import digits_model

    out = tmp_path / "digits"
    generate(compress(digits_model(), CompressConfig("bf16")), out, dataflow=True, progress=False)
    r = run_csim(out, progress=False)
    assert r.weights_bit_exact and r.outputs_bit_exact, r.first_difference
    assert r.images == 500 and r.top1_agreement_pct >= 99.9 and r.kernel_accuracy_pct == r.torch_accuracy_pct
