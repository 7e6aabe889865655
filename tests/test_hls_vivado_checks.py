"""Vivado-side checks (issue 12, part 6): C/RTL co-simulation on the testbench vectors, the flush-to-zero
reference of the Xilinx floating-point cores (AMD PG109), and C++11 for legacy Vivado HLS."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pycompress.compress import CompressConfig, compress_state_dict
from pycompress.hw.fpref import FpUnits
from pycompress.hw.plan import kernel_model
from pycompress.hw.hls.reference import reference_forward
from pycompress.hw.hls.vectors import dataset_inputs
from pycompress.hw.hls.writer import generate, render_project
from pycompress.hw.vivado.flow import hls_args

TINY = np.float32(np.finfo(np.float32).tiny)  # smallest normal


@pytest.fixture(scope="module")
def km(lenet_state_dict):
    return kernel_model(compress_state_dict(lenet_state_dict, CompressConfig("bf16")))


@pytest.fixture(scope="module")
def project(km, lenet_state_dict, tmp_path_factory) -> Path:
    cm = compress_state_dict(lenet_state_dict, CompressConfig("bf16"))
    return generate(cm, tmp_path_factory.mktemp("ftz") / "hls", progress=False, ftz_reference=True)


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, np.float32).view(np.uint32)


def test_ftz_ops_match_fpref():
    from pycompress.hw.hls.reference import _Ops

    rng = np.random.default_rng(1)
    specials = np.array([0.0, -0.0, TINY, -TINY, TINY / 2, -TINY / 3, 1e-45, 1.5, -2.0, 1e-20, 3e-19], np.float32)
    a = np.concatenate([specials, rng.standard_normal(200).astype(np.float32) * np.float32(1e-19)])
    b = np.concatenate([specials[::-1], rng.standard_normal(200).astype(np.float32) * np.float32(1e-19)])
    ops, units = _Ops(subnormals=False), FpUnits(subnormals=False)
    assert np.array_equal(_bits(ops.mul(a, b)), units.mul(a, b))
    assert np.array_equal(_bits(ops.add(a, b)), units.add(a, b))
    assert np.array_equal(_bits(_Ops(True).mul(a, b)), FpUnits(subnormals=True).mul(a, b))


def test_ftz_and_ieee_agree_without_subnormals_and_differ_where_injected(km):
    x, _ = dataset_inputs(km.graph, 20)
    ieee = reference_forward(km.graph, km.params, x)
    ftz = reference_forward(km.graph, km.params, x, subnormals=False)
    assert np.array_equal(_bits(ieee), _bits(ftz))  # MNIST digits: no subnormal anywhere

    # Subnormal activations injected into the zero background of digit 0 (both signs): the cores read them as
    # zeros of their sign, so the FTZ reference gives exactly the untouched digit's outputs.
    inj = x.copy()
    bg = np.flatnonzero(inj[0].reshape(-1) == 0)[:40]
    inj[0].reshape(-1)[bg] = np.where(np.arange(bg.size) % 2, TINY / 2, -TINY / 4)
    assert np.array_equal(_bits(reference_forward(km.graph, km.params, inj, subnormals=False)), _bits(ftz))

    # With zero biases, an image of subnormal pixels: IEEE carries them through, FTZ gives exact zeros; the
    # other (normal) rows of the same batch still agree bit for bit.
    zero_bias = {k: (np.zeros_like(v) if k.endswith("bias") else v) for k, v in km.params.items()}
    batch = np.stack([x[1], np.full_like(x[1], TINY * np.float32(0.75)), x[2]])
    a = reference_forward(km.graph, zero_bias, batch)
    b = reference_forward(km.graph, zero_bias, batch, subnormals=False)
    differs = (_bits(a) != _bits(b)).any(axis=1)
    assert differs.tolist() == [False, True, False]
    assert not np.any(_bits(b[1]) & np.uint32(0x7FFFFFFF))  # FTZ: every output of the subnormal image is +-0
    assert np.any(a[1] != 0)


def test_generate_ftz_reference_writes_ftz_vectors(km, project, lenet_state_dict):
    import json

    text = (project / "tb_data" / "tb_output_predictions.dat").read_text()
    assert "subnormals flushed to zero" in text
    assert json.loads((project / "project.json").read_text())["tb_reference"] == "ftz"
    cm = compress_state_dict(lenet_state_dict, CompressConfig("bf16"))
    ieee = render_project(cm)
    assert json.loads(ieee["project.json"])["tb_reference"] == "ieee"
    rows = lambda t: [l for l in t.splitlines() if not l.startswith("#")]  # noqa: E731
    assert rows(ieee["tb_data/tb_output_predictions.dat"]) == rows(text)  # no subnormal in the tb digits


def test_cli_generate_ftz_reference(tmp_path, lenet_state_dict):
    from pycompress.core import container
    from tests.conftest import run_cli

    cm = compress_state_dict(lenet_state_dict, CompressConfig("bf16"))
    container.save(cm, tmp_path / "m.pcz")
    r = run_cli("generate", tmp_path / "m.pcz", "-o", tmp_path / "hls", "--ftz-reference")
    assert r.returncode == 0, r.stderr
    assert "subnormals flushed" in (tmp_path / "hls" / "tb_data" / "tb_output_predictions.dat").read_text()


def test_flow_hls_args():
    assert hls_args("vitis_hls") == ["csim=0", "synth=1", "cosim=0", "export=1"]
    assert hls_args("vitis_hls", cosim=True) == ["csim=0", "synth=1", "cosim=1", "export=1"]
    assert hls_args("vivado_hls", cosim=True)[-1] == "legacy=1"


STUB = """
set log {}
foreach cmd {open_project set_top add_files open_solution set_part create_clock csim_design csynth_design cosim_design export_design} {
    proc $cmd args [format {lappend ::log [concat %s $args]} $cmd]
}
rename exit pyc_exit
proc exit args { puts [join $::log "\\n"]; pyc_exit {*}$args }
source build_prj.tcl
"""


@pytest.mark.tclsh
@pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh not installed")
def test_build_script_cosim_and_legacy_cflags(project):
    def run(*args):
        return subprocess.run(["tclsh", "/dev/stdin", *args], input=STUB, cwd=project, capture_output=True, text=True)

    r = run("csim=1", "synth=1", "cosim=1", "export=0", "legacy=1")
    assert r.returncode == 0, r.stderr
    log = r.stdout.splitlines()
    steps = [l.split()[0] for l in log if l.split()[0].endswith("_design")]
    assert steps == ["csim_design", "csynth_design", "cosim_design"]
    tb = [l for l in log if l.startswith("add_files -tb")]
    assert any("tb/tb_pycompress_top.cpp" in l and "-std=c++11" in l for l in tb) and "add_files -tb tb_data" in tb
    assert all("-std=c++14" not in l for l in log if l.startswith("add_files"))
    r = run("cosim=1")
    assert r.returncode == 0 and "-std=c++14" in r.stdout and "cosim_design" in r.stdout
    r = run("synth=0", "cosim=1")
    assert r.returncode != 0 and "cosim=1 needs synth=1" in r.stderr


@pytest.mark.csim
@pytest.mark.skipif(shutil.which(os.environ.get("CXX", "g++")) is None, reason="no C++ compiler")
def test_generated_kernel_and_testbench_compile_as_cxx11(project):
    from pycompress.hw.hls.project import ap_types_dir

    cxx = os.environ.get("CXX", "g++")
    fw = project / "firmware"
    for src in (fw / "pycompress_top.cpp", fw / "csim_bridge.cpp", project / "tb" / "tb_pycompress_top.cpp"):
        r = subprocess.run([cxx, "-std=c++11", "-pedantic-errors", "-fsyntax-only", "-DPYC_STANDALONE_CSIM", "-w",
                            "-I", str(ap_types_dir()), "-I", str(fw), str(src)], capture_output=True, text=True)
        assert r.returncode == 0, f"{src.name} is not C++11:\n{r.stderr[:2000]}"


@pytest.mark.tclsh
@pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh not installed")
def test_vivado_flow_with_cosim_under_stubs(lenet_state_dict, tmp_path):
    """`pycompress bitstream --cosim`: run_hls.tcl passes cosim=1 to the generated build_prj.tcl, which
    co-simulates after C synthesis and before export, with the FTZ testbench vectors."""
    import json

    from pycompress.hw.board import load_board
    from pycompress.hw.vivado.build import assemble, generate_hls
    from pycompress.hw.vivado.flow import FlowConfig
    from pycompress.hw.vivado.host import default_test_set
    from pycompress.core import container
    from vivado_helpers import calls, read_log, run_tcl

    board = load_board("zedboard")
    model = tmp_path / "m.pcz"
    container.save(compress_state_dict(lenet_state_dict, CompressConfig("bf16")), model)
    build = tmp_path / "lenet"
    generate_hls(model, build / "hls", baseline=False, ftz_reference=True)
    plan = assemble(build, "lenet", board, default_test_set(), FlowConfig(cosim=True))
    assert "cosim=1" in plan.hls_args and json.loads((build / "hls" / "project.json").read_text())["tb_reference"] == "ftz"
    assert plan.report_copies[-2:] == ("prj_pycompress_top/solution1/sim/report/pycompress_top_cosim.rpt", "hls_cosim.rpt")
    log = tmp_path / "calls.log"
    proc = run_tcl(build / "scripts" / "run_hls.tcl", log, board_parts=board.board_part)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    entries = read_log(log)
    assert not [e for e in entries if e[0] == "STUB-ERROR"]
    steps = [e[0] for e in entries if e[0] in ("csim_design", "csynth_design", "cosim_design", "export_design")]
    assert steps == ["csynth_design", "cosim_design", "export_design"]
    tb = [c for c in calls(entries, "add_files") if "-tb" in c]
    assert any("tb_data" in a for c in tb for a in c)
