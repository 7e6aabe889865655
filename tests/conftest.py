"""Shared fixtures: the shipped default LeNet (pycompress/models/), identical on every machine."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def lenet_state_dict() -> dict[str, torch.Tensor]:
    from pycompress.frontends.shipped import default_lenet

    return default_lenet()


@pytest.fixture(scope="session")
def lenet_path(lenet_state_dict) -> Path:
    from pycompress.frontends.shipped import LENET_WEIGHTS

    return LENET_WEIGHTS


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real console entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "pycompress", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def searchable_folder(prefix: str = "pycompress-test-") -> Path:
    """A fresh folder in the system temp folder that other accounts may enter (mode 0711): the PostgreSQL
    server runs as an unprivileged account when the tests run as root, and pytest's own tmp_path sits in
    a private (0700) folder it cannot enter. pgserver checks that, never grants it."""
    import tempfile

    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o711)
    return d


@pytest.fixture()
def open_tmp() -> Path:
    import shutil

    d = searchable_folder()
    yield d
    shutil.rmtree(d, ignore_errors=True)
