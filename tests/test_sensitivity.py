import json

import numpy as np
import pytest
import torch

from pycompress.sharing.cluster import EXPSHARE, cluster_state_dict
from pycompress.core.errors import PycompressError
from pycompress.frontends.lenet import accuracy, load_lenet
from pycompress.sharing.sensitivity import (LayerCache, LenetEvaluator, run_sensitivity, sensitivity_files,
    write_dir_atomic)


@pytest.fixture(scope="module")
def sens(lenet_state_dict):
    cache = LayerCache(lenet_state_dict, k_max=16)
    ev = LenetEvaluator(lenet_state_dict)
    return run_sensitivity(cache, ev, (2, 16)), cache


def test_curves_match_independent_evaluation(lenet_state_dict, sens):
    result, _ = sens
    assert result.data == "validation" and result.images == 500
    assert result.baseline_accuracy == accuracy(load_lenet(lenet_state_dict), part="validation")
    assert [c.name for c in result.curves] == ["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "fc3.weight"]
    # one point rebuilt from scratch: fc1 clustered into 2 values, every other weight lossless
    plan = {name: EXPSHARE for name in lenet_state_dict if lenet_state_dict[name].dim() >= 2}
    plan["fc1.weight"] = 2
    cm = cluster_state_dict(lenet_state_dict, plan)
    fc1 = result.curve("fc1.weight")
    assert fc1.accuracy[0] == accuracy(load_lenet(cm.state_dict()), part="validation")
    assert fc1.bits == (30720 * 1 + 2 * 32, 30720 * 4 + 16 * 32)
    # fewer shared values never cost more bits (k=2 uses 1 index bit and 2 codebook entries)
    assert all(c.bits[0] < c.bits[1] for c in result.curves)


def test_k_at_least_the_distinct_values_is_lossless(lenet_state_dict):
    """With k >= the number of distinct values every weight is its own cluster: the layer is unchanged,
    so the sensitivity point equals the uncompressed accuracy (a guarantee, whatever the model)."""
    conv1 = lenet_state_dict["conv1.weight"]
    distinct = int(torch.unique(conv1).numel())
    cache = LayerCache({"conv1.weight": conv1}, k_max=256)
    assert distinct <= 256
    decoded = cache.decoded("conv1.weight", 256)
    assert torch.equal(decoded.view(torch.int32), conv1.view(torch.int32))
    ev = LenetEvaluator(lenet_state_dict)
    assert ev.correct({"conv1.weight": decoded}) == ev.baseline_correct


def test_files_json_and_png(tmp_path, sens):
    result, _ = sens
    out = tmp_path / "sens"
    write_dir_atomic(out, sensitivity_files(result))
    data = json.loads((out / "sensitivity.json").read_text())
    assert data["layers"][2]["name"] == "fc1.weight" and data["layers"][2]["k"] == [2, 16]
    assert (out / "sensitivity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sensitivity_files(result)["sensitivity.png"] == (out / "sensitivity.png").read_bytes()  # deterministic


def test_report_folder_is_never_mixed_with_foreign_files(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(PycompressError, match="refusing"):
        write_dir_atomic(out, {"a.json": b"{}"})
    assert (out / "keep.txt").read_text() == "mine"
    write_dir_atomic(tmp_path / "s", {"a.json": b"1"})
    write_dir_atomic(tmp_path / "s", {"a.json": b"2"})  # our own folder is replaced whole
    assert (tmp_path / "s" / "a.json").read_bytes() == b"2"


def test_cache_decodes_exactly_what_is_stored(sens):
    _, cache = sens
    st = cache.encoded("conv2.weight", 16)
    np.testing.assert_array_equal(cache.decoded("conv2.weight", 16).numpy(), st.decode().to(torch.float32).numpy())
    assert cache.bits("conv2.weight", 16) == 2400 * 4 + 16 * 32
