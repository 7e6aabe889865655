import json

import numpy as np
import pytest
import torch

from pycompress.cluster import EXPSHARE, cluster_state_dict
from pycompress.errors import PycompressError
from pycompress.lenet import accuracy, load_lenet
from pycompress.sensitivity import LayerCache, LenetEvaluator, run_sensitivity, sensitivity_files, write_dir_atomic


@pytest.fixture(scope="module")
def sens(lenet_state_dict):
    cache = LayerCache(lenet_state_dict, k_max=16)
    ev = LenetEvaluator(lenet_state_dict)
    return run_sensitivity(cache, ev, (2, 16)), cache


def test_curves_match_independent_evaluation(lenet_state_dict, sens):
    result, _ = sens
    assert result.baseline_accuracy == pytest.approx(accuracy(load_lenet(lenet_state_dict)))
    assert [c.name for c in result.curves] == ["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "fc3.weight"]
    # one point rebuilt from scratch: fc1 clustered into 2 values, every other weight lossless
    plan = {name: EXPSHARE for name in lenet_state_dict if lenet_state_dict[name].dim() >= 2}
    plan["fc1.weight"] = 2
    cm = cluster_state_dict(lenet_state_dict, plan)
    fc1 = result.curve("fc1.weight")
    assert fc1.accuracy[0] == pytest.approx(accuracy(load_lenet(cm.state_dict())))
    assert fc1.bits == (30720 * 1 + 2 * 32, 30720 * 4 + 16 * 32)
    # clustering into 2 values hurts more than into 16, for every layer of this model
    assert all(c.accuracy[0] < c.accuracy[1] for c in result.curves)


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
