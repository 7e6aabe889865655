"""rtl/*.sv and the generated top are lint clean under `verilator --lint-only -Wall` for every format."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sim"))
import harness  # noqa: E402

from pycompress.compress import CompressConfig, compress_state_dict  # noqa: E402
from pycompress.hw.rtl.images import TOP, rtl_sources, write_rtl  # noqa: E402

pytestmark = pytest.mark.sim

FORMATS = {"fp32": (8, 23), "bf16": (8, 7), "fp16": (5, 10)}
CASES = [(top, fmt, extra) for fmt in FORMATS for top, extra in [
    ("weight_decoder", {"INDEX_BITS": 3}), ("weight_decoder", {"INDEX_BITS": 1, "EXP_DEPTH": 1}),
    ("weight_decoder", {"STORED_MAN_BITS": 4}), ("weight_decoder", {"STORED_MAN_BITS": 0}),
    ("codebook_decoder", {"INDEX_BITS": 4}),
    ("weight_streamer", {"DEPTH": 1, "INDEX_BITS": 1, "ROM_DEPTH": 1}), ("weight_streamer", {"DEPTH": 30720}),
    ("weight_streamer", {"CLUSTER": 1, "INDEX_BITS": 4, "DEPTH": 2400}),
]]


def lint(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    harness.setup_tools()
    return subprocess.run(["verilator", "--lint-only", "-Wall", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("top,fmt,extra", CASES)
def test_lint_clean(top, fmt, extra):
    e, m = FORMATS[fmt]
    params = {"EXP_BITS": e, "MAN_BITS": m, **extra}
    r = lint([*map(str, rtl_sources()), "--top-module", top, *[f"-G{k}={v}" for k, v in params.items()]])
    assert r.returncode == 0, r.stderr


def test_generated_top_lint_clean(lenet_state_dict, tmp_path):
    cm = compress_state_dict(lenet_state_dict, CompressConfig(format="fp16"))
    write_rtl(cm, tmp_path)
    r = lint(["-I.", *map(str, rtl_sources()), f"{TOP}.sv", "--top-module", TOP], cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_lint_would_catch_a_width_bug(tmp_path):
    """The lint test is not vacuous: a truncating assignment is reported."""
    bad = tmp_path / "bad.sv"
    bad.write_text("module bad(input logic [7:0] a, output logic [3:0] y);\n  assign y = a;\nendmodule\n")
    assert lint([str(bad)]).returncode != 0
