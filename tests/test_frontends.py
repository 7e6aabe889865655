"""torch.export programs (.pt2) as model files: loaded without pickled code, rebuilt, through the CLI."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from conftest import run_cli


class SmallCNN(nn.Module):
    """conv3x3 + BN - ReLU - maxpool - flatten - linear, on 1x8x8 inputs (the digits shape)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(torch.relu(self.bn(self.conv(x)))), 1))


class SinCNN(SmallCNN):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(torch.sin(self.conv(x))), 1))


def small_cnn() -> SmallCNN:
    torch.manual_seed(0)
    m = SmallCNN()
    with torch.no_grad():  # non-trivial BN statistics, so folding changes the weights
        m.bn.running_mean.uniform_(-0.5, 0.5)
        m.bn.running_var.uniform_(0.5, 2.0)
    return m.eval()


def export(model: nn.Module, path: Path) -> Path:
    torch.export.save(torch.export.export(model.eval(), (torch.randn(2, 1, 8, 8),)), str(path))
    return path


@pytest.fixture(scope="module")
def pt2(tmp_path_factory) -> Path:
    return export(small_cnn(), tmp_path_factory.mktemp("pt2") / "small.pt2")


@pytest.fixture(scope="module")
def npz(tmp_path_factory) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("data") / "x.npz"
    np.savez(path, x=rng.random((120, 1, 8, 8), dtype=np.float32), y=rng.integers(0, 10, 120),
             x_test=rng.random((40, 1, 8, 8), dtype=np.float32), y_test=rng.integers(0, 10, 40))
    return path


def one_line_error(r, pattern: str) -> str:
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert pattern in lines[0], lines[0]
    return lines[0]


def test_rebuilt_module_computes_what_the_model_computes(pt2):
    from pycompress.frontends import load_model

    model = small_cnn()
    loaded = load_model(str(pt2))
    assert loaded.kind == "export" and loaded.input_shape == (1, 8, 8) and loaded.graph is not None
    assert set(loaded.state_dict) == {"conv.weight", "conv.bias", "fc.weight", "fc.bias"}  # BN folded
    x = torch.randn(7, 1, 8, 8)  # another batch size than the example's
    with torch.no_grad():
        assert torch.allclose(loaded.build(loaded.state_dict)(x), model(x), atol=1e-5)


def test_pickled_code_in_a_program_is_refused(pt2, tmp_path):
    """torch.export.load falls back to weights_only=False on sample inputs: ours never does."""
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    evil = tmp_path / "evil.pt2"
    with zipfile.ZipFile(pt2) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith("sample_inputs/model.pt"):
                import io

                buf = io.BytesIO()
                torch.save(Evil(), buf)
                data = buf.getvalue()
            dst.writestr(item, data)
    one_line_error(run_cli("stats", evil), "refused to load")
    assert not marker.exists()


def test_pt2_through_the_cli(pt2, npz, tmp_path):
    """stats, compress (graph attached), evaluate .pt2 == evaluate .pcz (fp32), approximate --data."""
    r = run_cli("stats", pt2, "--json")
    assert r.returncode == 0, r.stderr
    assert {layer["name"] for layer in json.loads(r.stdout)["layers"]} == {"conv.weight", "fc.weight"}
    pcz = tmp_path / "m.pcz"
    r = run_cli("compress", pt2, "-o", pcz, "--format", "fp32")
    assert r.returncode == 0, r.stderr
    from pycompress.core import container

    cm = container.load(pcz)
    assert cm.graph is not None and cm.graph["input_shape"] == [1, 8, 8]
    a = json.loads(run_cli("evaluate", pt2, "--data", npz, "--json").stdout)
    b = json.loads(run_cli("evaluate", pcz, "--data", npz, "--json").stdout)
    assert (a["accuracy"], a["validation_accuracy"]) == (b["accuracy"], b["validation_accuracy"])
    assert a["test_images"] == 40 and a["validation_images"] == 12
    out = tmp_path / "a.pcz"
    r = run_cli("approximate", pt2, "--data", npz, "-o", out, "--max-iterations", "2")
    assert r.returncode == 0, r.stderr
    approx = container.load(out)
    assert approx.graph == cm.graph  # the program's layer graph is kept
    c = json.loads(run_cli("evaluate", out, "--data", npz, "--json").stdout)
    assert c["validation_accuracy"] == approx.info["accuracy"]  # chosen on validation, re-evaluated from the file
    assert c["accuracy"] == approx.info["test_accuracy"]


@pytest.mark.csim
def test_pt2_generate_and_csim(pt2, tmp_path):
    pcz = tmp_path / "m.pcz"
    assert run_cli("compress", pt2, "-o", pcz).returncode == 0
    r = run_cli("generate", pcz, "-o", tmp_path / "hls")
    assert r.returncode == 0, r.stderr
    r = run_cli("csim", tmp_path / "hls", "--images", "20")
    assert r.returncode == 0, r.stderr + r.stdout


def test_unsupported_op_is_named_and_the_program_still_runs(tmp_path, npz):
    """An op without a rebuild: compress and evaluate run the program as it is; generate refuses, naming the op."""
    path = export(SinCNN().eval(), tmp_path / "sin.pt2")
    r = run_cli("compress", path, "-o", tmp_path / "o.pcz")
    assert r.returncode == 0 and "aten.sin" in r.stderr, r.stderr
    r = run_cli("evaluate", tmp_path / "o.pcz", "--model", path, "--data", npz)
    assert r.returncode == 0 and "top-1 accuracy" in r.stdout, r.stderr
    line = one_line_error(run_cli("generate", tmp_path / "o.pcz", "-o", tmp_path / "hls"), "aten.sin")
    assert "not supported" in line and not (tmp_path / "hls").exists()


def test_plain_state_dict_needs_the_architecture(tmp_path, npz):
    sd = tmp_path / "w.pt"
    torch.save(small_cnn().state_dict(), sd)
    assert run_cli("stats", sd).returncode == 0  # weights only: fine
    for cmd in (["evaluate", sd, "--data", npz], ["approximate", sd, "--data", npz, "-o", tmp_path / "o.pcz"]):
        one_line_error(run_cli(*cmd), "needs the model's architecture")
    assert not (tmp_path / "o.pcz").exists()


def test_a_file_that_is_not_onnx_is_refused_in_one_line(tmp_path):
    """ONNX models load (tests/test_onnx_import.py); a byte that is no protobuf message is one line."""
    f = tmp_path / "m.onnx"
    f.write_bytes(b"\0")
    one_line_error(run_cli("stats", f), "not a readable ONNX model")
