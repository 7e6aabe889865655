"""Shared helpers for the Vivado-flow tests: TCL runs against recording stubs, stub logs, HLS projects."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "vivado"
STUBS = DATA / "tcl_stubs.tcl"


def run_tcl(script: Path, log: Path, board_parts: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Source the stubs, then the generated script, in a real tclsh; calls are appended to `log`."""
    driver = log.parent / f"driver_{script.stem}.tcl"
    driver.write_text(f"source {{{STUBS}}}\nset argv {{}}\nset argc 0\nsource {{{script}}}\n")
    env = dict(os.environ, PYC_STUB_LOG=str(log), PYC_STUB_BOARD_PARTS=board_parts)
    return subprocess.run(["tclsh", str(driver)], capture_output=True, text=True, env=env, cwd=cwd or script.parent,
                          timeout=60)


def read_log(log: Path) -> list[list[str]]:
    """Recorded calls: [command, arg, ...] with the stub's escapes undone."""
    def unescape(word: str) -> str:
        out, i = [], 0
        while i < len(word):
            if word[i] == "\\" and i + 1 < len(word):
                out.append({"t": "\t", "n": "\n", "\\": "\\"}[word[i + 1]])
                i += 2
            else:
                out.append(word[i])
                i += 1
        return "".join(out)

    return [[unescape(w) for w in line.split("\t")] for line in log.read_text().splitlines()]


def calls(log: list[list[str]], name: str) -> list[list[str]]:
    return [c[1:] for c in log if c[0] == name]


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def write_minimal_hls_project(hls_dir: Path, top: str, baseline: bool = False) -> None:
    """A stand-in HLS project (project.json + build_prj.tcl) shaped like the HLS generator's output.

    Used only by the tests that check the flow writer on its own; the integration tests
    use the real generator (tests skip those when pycompress.hw.hls is absent).
    """
    from pycompress.hw import kernel_interface as ki

    (hls_dir / "firmware").mkdir(parents=True)
    (hls_dir / "firmware" / "kernel.cpp").write_text("// stand-in\n")
    (hls_dir / "project.json").write_text(json.dumps({
        "top_function": top, "input_port": ki.INPUT_PORT, "output_port": ki.OUTPUT_PORT,
        "control_bundle": ki.CONTROL_BUNDLE, "input_shape": [1, 28, 28], "input_size": 784, "output_size": 10,
        "part": "xc7z020clg484-1", "clock_period_ns": 10.0, "hls_project": f"{top}_prj", "baseline": baseline,
    }))
    (hls_dir / "build_prj.tcl").write_text(
        "array set opt {csim 1 synth 1 cosim 0 export 1}\n"
        "foreach a $argv { foreach {k v} [split $a =] { set opt($k) $v } }\n"
        f"open_project -reset {top}_prj\nset_top {top}\nadd_files firmware/kernel.cpp\n"
        "open_solution -reset solution1\nset_part xc7z020clg484-1\ncreate_clock -period 10 -name default\n"
        "if {$opt(csim)} { csim_design }\nif {$opt(synth)} { csynth_design }\n"
        f"if {{$opt(export)}} {{ export_design -format ip_catalog -vendor {ki.IP_VENDOR} -library {ki.IP_LIBRARY} -version {ki.IP_VERSION} }}\n"
    )


def install_fake_tools(bin_dir: Path, version: str = "2023.2") -> None:
    """vitis_hls, vivado and xsct that answer -version like the real ones and otherwise run the
    script they are given (their last argument) in tclsh with the recording stubs."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    driver = bin_dir / "stub_driver.tcl"
    driver.write_text(f"source {{{STUBS}}}\nset script [lindex $argv end]\nset argv {{}}\nset argc 0\nsource $script\n")
    banners = {"vitis_hls": f"Vitis HLS - High-Level Synthesis from C, C++ and OpenCL v{version} (64-bit)",
               "vivado": f"Vivado v{version} (64-bit)", "xsct": f"xsct v{version}"}
    for tool, banner in banners.items():
        path = bin_dir / tool
        path.write_text("#!/bin/sh\n"
                        f"if [ \"$1\" = \"-version\" ]; then echo '{banner}'; exit 0; fi\n"
                        "for last in \"$@\"; do :; done\n"
                        f"exec tclsh '{driver}' \"$last\"\n")
        path.chmod(0o755)
