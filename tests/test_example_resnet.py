"""The worked example (issue 14): the shipped ResNet `.pt2` from the CLI through compress -> generate -> csim,
and `csim --model/--data` comparing the kernel with the user's own module on the user's data."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.conftest import REPO, run_cli

EXAMPLE = REPO / "examples" / "resnet_mnist"
PT2 = EXAMPLE / "resnet_mnist.pt2"


def test_shipped_example_matches_its_card():
    card = json.loads((EXAMPLE / "resnet_mnist.json").read_text())
    assert hashlib.sha256(PT2.read_bytes()).hexdigest() == card["file_sha256"]
    assert PT2.stat().st_size < 2 << 20 and card["parameters"] < 300_000


@pytest.mark.slow
@pytest.mark.csim
@pytest.mark.long
def test_example_compress_generate_csim_on_test_split(tmp_path):
    """The worked example's own commands on the 1,000 test digits (make test-long; `make example-resnet` runs
    the same compress/generate/csim --data mnist5k --model with --min-agreement 99.9). make test keeps the
    faster checks of each part: the same ResNet weights bit-exact through generate + csim against the model
    (test_onnx_import's ResNet), csim --model/--data agreement and refusals (the two tests below)."""
    r = run_cli("compress", PT2, "--format", "bf16", "-o", tmp_path / "m.pcz")
    assert r.returncode == 0, r.stderr
    r = run_cli("generate", tmp_path / "m.pcz", "-o", tmp_path / "hls")
    assert r.returncode == 0, r.stderr
    r = run_cli("csim", tmp_path / "hls", "--data", "mnist5k", "--model", PT2, "--min-agreement", "99.9", "--json")
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)
    assert c["weights_bit_exact"] and c["outputs_bit_exact"], c["first_difference"]
    assert c["images"] == 1000 and c["inputs"] == "mnist5k: test part"
    assert c["compared_with"] == f"model {PT2}" and c["top1_agreement_pct"] >= 99.9
    assert c["kernel_accuracy_pct"] > 97


class Small(nn.Module):
    def __init__(self, act) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.act = act
        self.fc = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.act(self.conv(x)), 1))


def _export(module: nn.Module, path: Path) -> Path:
    torch.manual_seed(0)
    torch.export.save(torch.export.export(module.eval(), (torch.rand(2, 1, 8, 8),)), str(path))
    return path


@pytest.mark.csim
def test_csim_against_the_users_model_catches_a_different_network(tmp_path):
    torch.manual_seed(0)
    relu = Small(nn.ReLU())
    tanh = Small(nn.Tanh())
    tanh.load_state_dict(relu.state_dict())  # same keys and shapes, another network
    for name, m in (("relu", relu), ("tanh", tanh)):
        with torch.no_grad():
            m.conv.weight.mul_(4)
        _export(m, tmp_path / f"{name}.pt2")
    assert run_cli("compress", tmp_path / "relu.pt2", "-o", tmp_path / "m.pcz").returncode == 0
    assert run_cli("generate", tmp_path / "m.pcz", "-o", tmp_path / "hls").returncode == 0
    r = run_cli("csim", tmp_path / "hls", "--data", "digits", "--model", tmp_path / "relu.pt2", "--min-agreement", "100",
                "--json")
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)
    assert c["top1_agreement_pct"] == 100.0 and c["outputs_bit_exact"] and c["model_accuracy_pct"] is not None
    r = run_cli("csim", tmp_path / "hls", "--data", "digits", "--model", tmp_path / "tanh.pt2", "--min-agreement", "99.9")
    errors = [l for l in r.stderr.splitlines() if "error" in l]
    assert r.returncode != 0 and len(errors) == 1 and "below --min-agreement 99.9%" in errors[0]


@pytest.mark.csim
def test_csim_data_and_model_that_do_not_fit_fail_in_one_line(tmp_path):
    torch.manual_seed(0)
    _export(Small(nn.ReLU()), tmp_path / "small.pt2")
    assert run_cli("compress", tmp_path / "small.pt2", "-o", tmp_path / "m.pcz").returncode == 0
    assert run_cli("generate", tmp_path / "m.pcz", "-o", tmp_path / "hls").returncode == 0
    r = run_cli("csim", tmp_path / "hls", "--data", "mnist5k")
    assert r.returncode != 0 and "(1, 28, 28)" in r.stderr and "(1, 8, 8)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_cli("csim", tmp_path / "hls", "--model", PT2)
    assert r.returncode != 0 and "not the model the kernel was made from" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
