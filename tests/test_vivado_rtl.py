"""`pycompress bitstream --engine rtl` (`make bitstream ENGINE=rtl`): the RTL engine's Vivado flow.

The build folder is written for real (the engine of the shipped LeNet in its board top); its TCL runs in a
real tclsh against the recording stubs of tests/data/vivado/tcl_stubs.tcl (IP packaging, the same block
design, bitstream, host build), and without Vivado the command stops at once with one line.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pycompress.core.errors import PycompressError
from pycompress.hw.board import load_board
from pycompress.hw.rtl.accel import ACCEL_TOP, accel_vlnv
from pycompress.hw.vivado.host import ImageSet
from pycompress.hw.vivado.toolcheck import check_tools
from vivado_helpers import calls, option, read_log, run_tcl

REPO = Path(__file__).resolve().parent.parent
BOARD = load_board("zedboard")


@pytest.fixture(scope="module")
def lenet_pcz(tmp_path_factory) -> Path:
    from pycompress.compress import CompressConfig, compress_state_dict
    from pycompress.core.container import save
    from pycompress.frontends.shipped import default_lenet

    path = tmp_path_factory.mktemp("model") / "lenet-bf16.pcz"
    save(compress_state_dict(default_lenet(), CompressConfig(format="bf16")), path)
    return path


@pytest.fixture(scope="module")
def rtl_build(lenet_pcz, tmp_path_factory) -> Path:
    from pycompress.hw.vivado.rtl_flow import assemble_rtl

    build = tmp_path_factory.mktemp("vivado") / "lenet_bf16"
    tests = ImageSet(np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32), np.arange(4), "random")
    assemble_rtl(build, "lenet_bf16", BOARD, tests, lenet_pcz)
    return build


def test_without_vivado_the_rtl_flow_stops_in_one_line(tmp_path):
    with pytest.raises(PycompressError, match="vivado missing") as e:
        check_tools(path=str(tmp_path), need_hls=False)
    assert "\n" not in str(e.value) and "vitis_hls" not in str(e.value)  # the RTL flow needs no HLS tool
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin")
    r = subprocess.run([sys.executable, "-m", "pycompress.cli.main", "bitstream", "missing.pcz", "--engine", "rtl"],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "vivado missing" in r.stderr


def test_rtl_build_folder(rtl_build):
    rtl = rtl_build / "rtl"
    assert (rtl / f"{ACCEL_TOP}.sv").is_file() and (rtl / "pycompress_engine.sv").is_file()
    assert (rtl / "pycompress_accel.f").read_text().split()[-1] == f"{ACCEL_TOP}.sv"
    scripts = sorted(p.name for p in (rtl_build / "scripts").iterdir())
    assert scripts == ["block_design.tcl", "build_host.tcl", "package_ip.tcl", "run_host.tcl", "vivado_flow.tcl"]
    config = (rtl_build / "host" / "src" / "host_config.h").read_text()
    assert "#define PYC_RTL_ENGINE 1" in config and "#define PYC_RTL_STAGES 7u" in config
    assert "PYC_RTL_REG_LATENCY" in (rtl_build / "host" / "src" / "main.c").read_text()
    assert not (rtl_build / "host" / "csim").exists() or not any((rtl_build / "host" / "csim").iterdir())


@pytest.mark.tclsh
def test_rtl_flow_under_tcl_stubs(rtl_build, tmp_path):
    """package_ip.tcl, then the same block design, bitstream and host build as the HLS kernel's."""
    log = tmp_path / "calls.log"
    for script in ("package_ip.tcl", "vivado_flow.tcl", "build_host.tcl", "run_host.tcl"):
        proc = run_tcl(rtl_build / "scripts" / script, log, board_parts=BOARD.board_part)
        assert proc.returncode == 0, f"{script} failed under the stubs:\n{proc.stdout}\n{proc.stderr}"
    entries = read_log(log)
    assert not [e for e in entries if e[0] == "STUB-ERROR"]
    names = [e[0] for e in entries]
    assert names.index("ipx::package_project") < names.index("create_bd_design") < names.index("launch_runs")
    pkg = calls(entries, "ipx::package_project")[0]
    assert option(pkg, "-library") == "rtl" and option(pkg, "-vendor") == "pycompress.org"
    added = [f for c in calls(entries, "add_files") for a in c for f in a.split()]  # a list argument holds files
    assert any(a.endswith(f"{ACCEL_TOP}.sv") for a in added) and any(a.endswith("_code.mem") for a in added)
    assert {option(c, "-busif") for c in calls(entries, "ipx::associate_bus_interfaces")} == {
        "s_axi_control", "in_stream", "out_stream"}
    kernel = [c for c in calls(entries, "create_bd_cell") if option(c, "-vlnv") == accel_vlnv()]
    assert kernel and kernel[0][-1] == f"{ACCEL_TOP}_0"
    intf = [" ".join(c) for c in calls(entries, "connect_bd_intf_net")]
    assert any(f"{ACCEL_TOP}_0/s_axi_control" in c for c in intf)
    assert any(f"{ACCEL_TOP}_0/in_stream" in c for c in intf) and any(f"{ACCEL_TOP}_0/out_stream" in c for c in intf)
    assert (rtl_build / "out" / "lenet_bf16.bit").is_file()
