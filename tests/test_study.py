"""The reduced study end to end through the real CLI, and `pycompress evaluate` of its models."""
from __future__ import annotations

import json

import pytest

from pycompress.core import container
from pycompress.frontends.lenet import accuracy, load_lenet
from pycompress.lossy.study import torch_threads

from conftest import run_cli


@pytest.fixture(scope="module")
def quick_study(tmp_path_factory, lenet_path):
    out = tmp_path_factory.mktemp("study") / "lenet"
    proc = run_cli("study", "--quick", "--model", lenet_path, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "ESART" in proc.stderr and "iter 1" in proc.stderr  # progress on stderr
    return out


@pytest.mark.slow
def test_quick_study_writes_report_figures_json_models(quick_study):
    names = {p.name for p in quick_study.iterdir()}
    assert {"report.md", "study.json", "fig9_approximation.png", "fig10_mantissa_esart.png", "fig11_comparison.png",
            "exponent_histograms.png", "models"} <= names
    report = (quick_study / "report.md").read_text()
    for heading in ("Headline", "Table 2", "Figure 9", "Figure 10", "Figure 11", "Table 4", "Exponent histograms"):
        assert heading in report
    doc = json.loads((quick_study / "study.json").read_text())
    assert set(doc["runs"]) >= {"a1-magnitude", "a2-frequency", "a3-magnitude", "mantissa bits", "esart decimal", "esart bits"}
    assert {b["method"].split(" ")[0] for b in doc["baselines"]} == {"magnitude", "int8"}
    for png in quick_study.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_evaluate_reproduces_recorded_accuracy(quick_study):
    models = sorted((quick_study / "models").glob("*.pcz"))
    assert len(models) >= 2
    for path in models:
        cm = container.load(path)
        recorded, recorded_test = cm.info["accuracy"], cm.info["test_accuracy"]
        with torch_threads(1):
            assert accuracy(load_lenet(cm.state_dict()), part="validation") == recorded  # what selected it
            assert accuracy(load_lenet(cm.state_dict()), part="test") == recorded_test  # what is reported
        assert cm.info["records"][cm.info["iteration"]]["accuracy"] == recorded
        assert cm.info["records"][cm.info["iteration"]]["test_accuracy"] == recorded_test
    proc = run_cli("evaluate", models[0], "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    info = container.load(models[0]).info
    assert out["accuracy"] == info["test_accuracy"] and out["validation_accuracy"] == info["accuracy"]


@pytest.mark.slow
def test_headline_choices_use_validation_only(quick_study):
    """The headline picks the most saving within the budget judged on validation; test accuracy is beside it."""
    doc = json.loads((quick_study / "study.json").read_text())
    assert doc["selection"].startswith("validation") and doc["report"].startswith("test")
    for row in doc["headline"]:
        run = doc["runs"][row["run"]]
        budget = 0.0 if row["budget"] == "no loss" else 0.5
        eligible = [r for r in run["records"] if r["accepted"] and r["drop"] <= budget + 1e-9]
        assert row["savings_pct"] == max(r["savings_pct"] for r in eligible)
        assert row["test_accuracy"] == run["records"][row["position"]]["test_accuracy"]
