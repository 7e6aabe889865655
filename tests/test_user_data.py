"""`--data`: user .npz files and built-in names; the model-agnostic evaluator equals the LeNet defaults."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import run_cli
from test_frontends import export, one_line_error, small_cnn


def test_mnist5k_task_equals_the_lenet_defaults(lenet_state_dict):
    from pycompress.frontends.evaluator import lenet_task
    from pycompress.sharing.sensitivity import LenetEvaluator, ModelEvaluator
    from pycompress.lossy.study import lenet_eval, lenet_test

    task = lenet_task()
    assert task.eval_fn(lenet_state_dict) == lenet_eval(lenet_state_dict)
    assert task.test_fn(lenet_state_dict) == lenet_test(lenet_state_dict)
    assert LenetEvaluator is ModelEvaluator
    ev = ModelEvaluator(lenet_state_dict, "test")
    assert ev.accuracy(ev.baseline_correct) == lenet_test(lenet_state_dict)


def test_evaluate_data_mnist5k_is_the_default(lenet_path):
    a = json.loads(run_cli("evaluate", lenet_path, "--json").stdout)
    b = json.loads(run_cli("evaluate", lenet_path, "--data", "mnist5k", "--json").stdout)
    assert a == b


def test_missing_parts_carved_with_a_fixed_seed(tmp_path):
    from pycompress.frontends.datasets import load_data

    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x=rng.random((50, 3, 4, 4), dtype=np.float32), y=rng.integers(0, 3, 50))
    a, b = load_data(str(path)), load_data(str(path))
    assert (len(a.y_train), len(a.y_val), len(a.y_test)) == (40, 5, 5)
    assert all(torch.equal(getattr(a, f), getattr(b, f)) for f in ("x_train", "x_val", "x_test", "y_val"))
    assert "carved" in a.note
    whole = torch.cat([a.x_train, a.x_val, a.x_test])
    assert sorted(map(tuple, whole.reshape(50, -1).tolist())) == sorted(map(tuple, rng_x(path).reshape(50, -1).tolist()))


def rng_x(path):
    with np.load(path) as z:
        return z["x"]


def test_digits_builtin_fits_its_model():
    from pycompress.frontends.datasets import load_data

    d = load_data("digits")
    assert d.sample_shape == (1, 8, 8) and len(d.y_test) == 500 and "carved" in d.note


@pytest.fixture(scope="module")
def pt2(tmp_path_factory):
    return export(small_cnn(), tmp_path_factory.mktemp("ud") / "small.pt2")


def test_bad_npz_shapes_are_one_line(pt2, tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((10, 1, 28, 28), np.float32), y=np.zeros(10, np.int64))
    line = one_line_error(run_cli("evaluate", pt2, "--data", bad), "(1, 28, 28)")
    assert "(1, 8, 8)" in line
    one_line_error(run_cli("approximate", pt2, "--data", bad, "-o", tmp_path / "o.pcz"), "(1, 28, 28)")
    assert not (tmp_path / "o.pcz").exists()
    ragged = tmp_path / "ragged.npz"
    np.savez(ragged, x=np.zeros((10, 1, 8, 8), np.float32), y=np.zeros(9, np.int64))
    one_line_error(run_cli("evaluate", pt2, "--data", ragged), "10 items")
    labels = tmp_path / "labels.npz"
    np.savez(labels, x=np.zeros((10, 1, 8, 8), np.float32), y=np.full(10, 12))
    one_line_error(run_cli("evaluate", pt2, "--data", labels), "labels go up to 12")
    one_line_error(run_cli("evaluate", pt2), "needs --data")


def test_cluster_then_evaluate_and_sensitivity(pt2, tmp_path):
    """Clustered .pcz evaluated from the CLI == the task on its decoded weights; sensitivity on user data."""
    from pycompress.core import container
    from pycompress.frontends.evaluator import task_for
    from pycompress.frontends import load_model

    out = tmp_path / "c.pcz"
    assert run_cli("cluster", pt2, "--k", "4", "-o", out).returncode == 0
    assert container.load(out).graph is not None
    r = json.loads(run_cli("evaluate", out, "--data", "digits", "--json").stdout)
    task = task_for(load_model(str(pt2)), "digits", "evaluate")
    assert r["accuracy"] == task.test_fn(container.load(out).state_dict())
    r = run_cli("sensitivity", pt2, "--data", "digits", "--ks", "2,4", "-o", tmp_path / "sens")
    assert r.returncode == 0, r.stderr
    sens = json.loads((tmp_path / "sens" / "sensitivity.json").read_text())
    assert sens["images"] == len(task.data.y_val)
    assert sens["baseline_accuracy"] == task.eval_fn(load_model(str(pt2)).state_dict)


def test_esart_fine_tunes_the_program(pt2, tmp_path):
    from pycompress.core import container

    out = tmp_path / "e.pcz"
    r = run_cli("esart", pt2, "--data", "digits", "-o", out, "--epochs", "1", "--start", "1", "--stop", "1")
    assert r.returncode == 0, r.stderr
    cm = container.load(out)
    again = json.loads(run_cli("evaluate", out, "--data", "digits", "--json").stdout)
    assert again["validation_accuracy"] == cm.info["accuracy"] and again["accuracy"] == cm.info["test_accuracy"]
