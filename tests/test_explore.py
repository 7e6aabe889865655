import json

import optuna
import pytest

from pycompress.core import container
from pycompress.sharing.cluster import sharing_stats
from pycompress.schemes.codebook import ClusteredTensor
from pycompress.sharing.explore import Point, pareto_front
from pycompress.frontends.lenet import accuracy, load_lenet

from conftest import run_cli


def pt(rate, correct):
    return Point((rate,), correct, correct / 10, int(1000 / rate), rate, rate / 2, "t")


def test_pareto_front():
    pts = [pt(2, 985), pt(4, 984), pt(3, 980), pt(8, 970), pt(8, 960), pt(1, 985), pt(16, 900)]
    front = pareto_front(pts)
    assert [(p.rate_fp32, p.correct) for p in front] == [(2, 985), (4, 984), (8, 970), (16, 900)]


@pytest.fixture(scope="module")
def explored(tmp_path_factory, lenet_path):
    tmp = tmp_path_factory.mktemp("explore")
    out, report = tmp / "x.pcz", tmp / "report"
    r = run_cli("explore", lenet_path, "--max-drop", "0.5", "--trials", "10", "--population", "5",
                "--ks", "4,8,16", "-o", out, "--report", report)
    assert r.returncode == 0, r.stderr
    return tmp, out, report, r


def test_written_model_respects_the_bound(explored, lenet_state_dict):
    _, out, report, r = explored
    base = accuracy(load_lenet(lenet_state_dict), part="validation")
    cm = container.load(out)
    acc = accuracy(load_lenet(cm.state_dict()), part="validation")  # re-evaluated from the file, apart from the search
    test = accuracy(load_lenet(cm.state_dict()), part="test")
    assert base - acc <= 0.5 + 1e-6  # the bound holds on the data the search selected on
    data = json.loads((report / "explore.json").read_text())
    assert data["selection"] == {"data": "validation", "images": 500}
    assert data["chosen"]["accuracy"] == acc and data["chosen"]["test_accuracy"] == test
    assert data["baseline_test_accuracy"] == accuracy(load_lenet(lenet_state_dict), part="test")
    assert cm.info["test_accuracy"] == test and cm.info["accuracy"] == acc
    assert sharing_stats(cm).rate(32) == pytest.approx(data["chosen"]["rate_fp32"])
    from pycompress.sharing.bound import drop_bound

    conf = data["settings"]["confidence"]
    assert data["chosen"]["drop_bound"] == pytest.approx(drop_bound(data["chosen"]["lost"], data["chosen"]["gained"], 500, conf))
    assert data["chosen"]["drop_bound"] <= 0.5  # the selection rule: the upper confidence bound meets --max-drop
    assert data["chosen"]["rate_fp32"] >= max(p["rate_fp32"] for p in data["points"]
                                              if drop_bound(p["lost"], p["gained"], 500, conf) <= 0.5 + 1e-9)
    assert any(isinstance(t, ClusteredTensor) for t in cm.tensors.values())
    assert "nsga-ii: trial 10/10" in r.stderr and "greedy" in r.stderr  # progress on stderr
    assert {"README.md", "pareto.png", "sensitivity.png", "sensitivity.json"} <= {p.name for p in report.iterdir()}
    r2 = run_cli("evaluate", out)
    assert r2.returncode == 0 and f"{test:.2f}% on the 1,000 test digits" in r2.stdout


def test_study_is_stored_and_resumed(explored, lenet_path):
    tmp, out, _, _ = explored
    db = out.with_suffix(".optuna.db")
    assert db.exists()
    storage = f"sqlite:///{db}"
    name = optuna.get_all_study_summaries(storage)[0].study_name
    before = len(optuna.load_study(study_name=name, storage=storage).trials)
    assert before == 10
    r = run_cli("explore", lenet_path, "--trials", "1", "--population", "5", "--ks", "4,8,16",
                "--storage", storage, "-o", tmp / "y.pcz")
    assert r.returncode == 0, r.stderr
    assert len(optuna.load_study(study_name=name, storage=storage).trials) == before + 1


def test_bad_storage_and_bound(tmp_path, lenet_path):
    r = run_cli("explore", lenet_path, "--max-drop", "-1", "-o", tmp_path / "z.pcz")
    assert r.returncode == 2 and "max-drop" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "z.pcz").exists()
    r = run_cli("explore", lenet_path, "--storage", "nosuchdb://x", "-o", tmp_path / "z.pcz")
    assert r.returncode == 2 and "cannot open the Optuna storage" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "z.pcz").exists()
