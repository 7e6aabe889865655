"""Tool check before the Vivado flow: missing or unsupported tools fail at once, in one line."""
from __future__ import annotations

import importlib.util
import os
import stat
import subprocess
from pathlib import Path

import pytest

from pycompress.core.errors import PycompressError
from pycompress.hw.vivado.toolcheck import check_tools
from conftest import REPO


def fake_tool(bin_dir: Path, name: str, banner: str) -> None:
    """An executable that answers `-version` like the Xilinx tool does."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!/bin/sh\necho '{banner}'\necho 'Tool Version Limit: 2024.11'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_supported_vitis_hls_and_vivado(tmp_path):
    fake_tool(tmp_path, "vitis_hls", "Vitis HLS - High-Level Synthesis from C, C++ and OpenCL v2023.2 (64-bit)")
    fake_tool(tmp_path, "vivado", "Vivado v2023.2 (64-bit)")
    tools = check_tools(str(tmp_path))
    assert (tools.hls.name, tools.hls.version, tools.vivado.version, tools.xsct) == ("vitis_hls", (2023, 2), (2023, 2), None)


def test_vivado_hls_2019_2_is_accepted(tmp_path):
    fake_tool(tmp_path, "vivado_hls", "Vivado(TM) HLS - High-Level Synthesis from C, C++ and SystemC v2019.2 (64-bit)")
    fake_tool(tmp_path, "vivado", "Vivado v2019.2 (64-bit)")
    fake_tool(tmp_path, "xsct", "xsct")
    tools = check_tools(str(tmp_path))
    assert tools.hls.name == "vivado_hls" and tools.hls.version == (2019, 2) and tools.xsct


@pytest.mark.parametrize("version", ["2018.3", "2019.1", "2025.1"])
def test_unsupported_version_names_tool_and_range(tmp_path, version):
    fake_tool(tmp_path, "vitis_hls", "Vitis HLS v2022.1 (64-bit)")
    fake_tool(tmp_path, "vivado", f"Vivado v{version} (64-bit)")
    with pytest.raises(PycompressError, match=rf"vivado {version} .* not supported \(supported 2019.2-2024.2\); source"):
        check_tools(str(tmp_path))


def test_missing_tools_named_with_settings_hint(tmp_path):
    with pytest.raises(PycompressError) as err:
        check_tools(str(tmp_path))
    assert "vitis_hls (or vivado_hls) and vivado" in str(err.value) and "settings64.sh" in str(err.value)
    fake_tool(tmp_path, "vivado", "Vivado v2023.2 (64-bit)")
    with pytest.raises(PycompressError, match=r"not found on PATH: vitis_hls \(or vivado_hls\) missing"):
        check_tools(str(tmp_path))


def test_tool_without_version_banner(tmp_path):
    fake_tool(tmp_path, "vitis_hls", "something else")
    fake_tool(tmp_path, "vivado", "Vivado v2023.2 (64-bit)")
    with pytest.raises(PycompressError, match="did not report a version"):
        check_tools(str(tmp_path))


def _path_without_xilinx() -> str:
    return os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if not any((Path(p) / t).exists() for t in ("vivado", "vitis_hls", "vivado_hls")))


def test_make_bitstream_without_vivado_exits_nonzero_with_the_message(tmp_path):
    proc = subprocess.run(["make", "-s", "-C", str(REPO), "bitstream", f"VIVADO_BUILD={tmp_path / 'b'}", "BASELINE=1"],
                          capture_output=True, text=True, env=dict(os.environ, PATH=_path_without_xilinx()), timeout=120)
    assert proc.returncode != 0
    # exactly one line from pycompress (make adds its own "Error 2" line), no traceback, nothing written
    lines = [l for l in proc.stderr.splitlines() if not l.startswith("make")]
    assert len(lines) == 1 and lines[0].startswith("pycompress: error: Vivado tools not found on PATH: vitis_hls (or vivado_hls) and vivado")
    assert "source Vivado's settings64.sh" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.slow
@pytest.mark.tclsh
@pytest.mark.skipif(importlib.util.find_spec("pycompress.hw.hls") is None, reason="the HLS generator (pycompress.hw.hls) is absent")
def test_bitstream_command_end_to_end_with_stub_tools(tmp_path, lenet_state_dict):
    """`pycompress bitstream --baseline` with stand-in tools on PATH (each runs its script in tclsh with the
    recording stubs, which write the sample reports): tool check, HLS project, scripts, the three tool runs,
    report parsing and the Table 7 comparison, for the compressed and the baseline kernel."""
    from pycompress.core import container
    from pycompress.compress import CompressConfig, compress_state_dict
    from vivado_helpers import DATA, install_fake_tools

    install_fake_tools(tmp_path / "bin")
    pcz = tmp_path / "lenet-bf16.pcz"
    container.save(compress_state_dict(lenet_state_dict, CompressConfig(format="bf16")), pcz)
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}{os.pathsep}{_path_without_xilinx()}", PYC_STUB_SAMPLES=str(DATA),
               PYC_STUB_LOG=str(tmp_path / "calls.log"), PYC_STUB_BOARD_PARTS="avnet.com:zedboard:part0:1.4")
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "pycompress"), "bitstream", str(pcz), "-o", str(tmp_path / "v"),
                           "--baseline", "--jobs", "2"], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("lenet_bf16", "lenet_bf16_baseline"):
        build = tmp_path / "v" / name
        for rel in (f"out/{name}.bit", f"out/{name}.xsa", f"out/{name}_host.elf", "reports/summary.json",
                    "logs/hls.log", "logs/vivado.log", "logs/xsct.log", "estimates.json"):
            assert (build / rel).is_file(), rel
    assert "vitis_hls 2023.2 done" in proc.stderr and "vivado 2023.2 done" in proc.stderr
    table = proc.stdout
    assert "Vivado compressed" in table and "Vivado baseline" in table and "HLS estimate compressed" in table
    row = next(line for line in table.splitlines() if line.strip().startswith("clock cycles"))
    assert "6,090,756" in row and "5,336,520" in row
