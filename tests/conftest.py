"""Shared fixtures: the trained default LeNet is trained once per test session."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def lenet_state_dict() -> dict[str, torch.Tensor]:
    from pycompress.demo import default_model

    cache = REPO / "build" / "test-cache"
    return default_model(cache, progress=False)


@pytest.fixture(scope="session")
def lenet_path(lenet_state_dict) -> Path:
    return REPO / "build" / "test-cache" / "lenet.pt"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real console entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "pycompress", *map(str, args)], capture_output=True, text=True, cwd=cwd)
