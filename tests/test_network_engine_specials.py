"""The RTL engine v2 on special cases, each its own engine build (see test_network_engine.py for the harness):
SUBNORMALS=0 against the flushing reference, NaN/+-0/inf/subnormal inputs through max pooling, and lanes
that decode entropy-coded (Huffman) weight streams."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine_runs import run_engine as _run, shipped
from pycompress.hw.fpref import as_bits


@pytest.fixture(scope="module")
def lenet():
    return shipped("lenet")


@pytest.fixture(scope="module")
def digits():
    return shipped("digits")


@pytest.mark.sim
def test_digits_cnn_flush_to_zero_engine_bit_exact(digits, tmp_path):
    """SUBNORMALS=0 (the Xilinx floating-point cores' behaviour) against the reference that flushes too, on inputs
    scaled so far down that the activations are subnormal: the two modes then give different outputs."""
    from pycompress.hw.hls.reference import reference_forward
    from pycompress.hw.hls.vectors import dataset_inputs

    x, _ = dataset_inputs(digits.graph, 3)
    x = (x * np.float32(2.0 ** -124)).astype(np.float32)  # some inputs subnormal, the products mostly
    # no biases: a bias would absorb every subnormal term, so the two modes would give the same outputs
    km = dataclasses.replace(digits, params={k: (np.zeros_like(v) if k.endswith("bias") else v)
                                             for k, v in digits.params.items()})
    plan, rep, ref = _run(km, "digits-ftz", 3, tmp_path, x=x, subnormals=False)
    assert rep["done"], rep
    want = as_bits(ref(km.graph, km.params, x, subnormals=False))
    assert np.array_equal(rep["outputs"], want)
    assert not np.array_equal(want, as_bits(reference_forward(km.graph, km.params, x)))


@pytest.mark.sim
def test_lenet_tail_maxpool_specials_bit_exact(lenet, tmp_path):
    """pool2 -> fc1 -> fc2 -> fc3 on crafted pool inputs: NaN first in a window (stays) or later (never wins),
    +-0 ties, +-inf, subnormals; fc1's ReLU turns a NaN sum into +0, so the logits show what the pool chose."""
    from pycompress.hw.hls.reference import reference_forward

    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 16, 8, 8)).astype(np.float32)
    b = x.view(np.uint32)
    b[0, 3, 2, 2] = 0x7FC0_0001  # NaN first in its window: the max is NaN
    b[1, 5, 4, 6:8] = 0xFFC0_0000  # NaN second and later in windows: ignored
    b[1, 5, 5, 6] = 0x7F80_0001
    b[2, :, 0:2, 0:2] = 0x8000_0000  # a window of -0 with +0 later: the first (-0) stays
    b[2, :, 1, 1] = 0
    b[2, 7, 6, 4], b[2, 8, 6, 4] = 0x7F80_0000, 0xFF80_0000  # +inf / -inf
    b[3, 2, :, :] = rng.integers(1, 0x007F_FFFF, (8, 8), dtype=np.uint32)  # subnormals, both signs
    b[3, 2, ::2, :] |= 0x8000_0000
    k = next(i for i, l in enumerate(lenet.graph.layers) if l.name == "pool2")
    tail = dataclasses.replace(lenet.graph, input_shape=(16, 8, 8), layers=lenet.graph.layers[k:])
    alt = b.copy()
    alt[0, 3, 2, 2] = 0xFF80_0000  # had the NaN lost to the others, image 0's logits would differ
    with np.errstate(invalid="ignore"):
        want = as_bits(reference_forward(tail, lenet.params, x, canonical_nan=True))
        assert not np.array_equal(as_bits(reference_forward(tail, lenet.params, alt.view(np.float32), canonical_nan=True))[0],
                                  want[0])
    plan, rep, _ = _run(lenet, "tail", 4, tmp_path, start="pool2", x=b.reshape(4, -1))
    assert rep["done"], rep
    assert np.array_equal(rep["outputs"], want)


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.long  # make sim runs the same check (network_harness.py --scheme huffman --start pool2)
def test_lenet_tail_entropy_coded_lanes_bit_exact(tmp_path):
    """A Huffman container: every lane decodes its own record stream (rtl/lane_hsrc.sv); LeNet from pool2 on."""
    import network_harness as nh

    res = nh.run_model("lenet", 3, tmp_path, start="pool2", scheme="huffman", valid=0.7, ready=0.7, stall=0.002)
    assert nh.entropy_coded_lanes(res["folder"])
    assert res["report"]["done"] and res["report"]["mismatches"] == 0
