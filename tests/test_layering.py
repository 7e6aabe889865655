"""The stage contract (`[tool.importlinter]` in pyproject.toml) holds on the tree, and `lint-imports` catches
an upward import: a copy of the package's .py files with `pycompress.core` importing `pycompress.cli` fails,
naming the contract and the import."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")
CONTRACT = "Stages of the data flow: lower stages never import higher ones"

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter not installed (make install)")


def lint(root: Path) -> subprocess.CompletedProcess:
    """lint-imports on the package under `root` (its pyproject.toml; `root` first on the import path)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True, text=True)


def test_the_tree_keeps_the_stage_contract():
    r = lint(REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{CONTRACT} KEPT" in r.stdout


def test_a_seeded_upward_import_breaks_the_contract(tmp_path):
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    shutil.copytree(REPO / "pycompress", tmp_path / "pycompress",  # the modules only: no models or templates
                    ignore=lambda d, names: [n for n in names if n == "__pycache__"
                                             or not (n.endswith(".py") or Path(d, n).is_dir())])
    core = tmp_path / "pycompress" / "core" / "errors.py"
    assert core.exists()
    core.write_text(core.read_text() + "\nimport pycompress.cli  # seeded: core must not import cli\n")
    r = lint(tmp_path)
    assert r.returncode != 0
    assert f"{CONTRACT} BROKEN" in r.stdout, r.stdout + r.stderr
    assert "pycompress.core.errors -> pycompress.cli" in r.stdout, r.stdout
