"""Write the per-model Vivado build folder: TCL scripts, constraints and flow.json.

Layout of a build folder (one per model; the baseline gets its own):
  hls/          the generated HLS project (project.json, build_prj.tcl, firmware/, ...)
  scripts/      run_hls.tcl, block_design.tcl, vivado_flow.tcl, build_host.tcl, run_host.tcl
  constraints/  the board's .xdc
  host/src/     the bare-metal host program (see host.py)
  flow.json     every value the scripts were rendered from
After the tools run: reports/ (HLS and Vivado reports), out/ (.bit, .xsa, .elf), vivado/ (project).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pycompress.hw import kernel_interface as ki
from pycompress.hw.board import BOARDS_DIR, Board
from pycompress.core.errors import PycompressError
from pycompress.hw.names import sanitize_identifier
from .manifest import KernelManifest
from .templating import render, tcl_environment

DESIGN_NAME = "pycompress_bd"
# Xilinx IP catalog versions; unchanged from Vivado 2019.2 to 2024.2.
IP_VLNV = {
    "ps7_vlnv": "xilinx.com:ip:processing_system7:5.5",
    "dma_vlnv": "xilinx.com:ip:axi_dma:7.1",
    "reset_vlnv": "xilinx.com:ip:proc_sys_reset:5.0",
    "interconnect_vlnv": "xilinx.com:ip:axi_interconnect:2.1",
    "concat_vlnv": "xilinx.com:ip:xlconcat:2.1",
}
# Pins of an HLS IP with ap_ctrl_hs on an AXI-Lite bundle (Vivado HLS 2019.2 to Vitis HLS 2024.2).
HLS_CLOCK_PIN = "ap_clk"
HLS_RESET_PIN = "ap_rst_n"
HLS_INTERRUPT_PIN = "interrupt"
SCRIPTS = ("run_hls.tcl", "block_design.tcl", "vivado_flow.tcl", "build_host.tcl", "run_host.tcl")
RTL_SCRIPTS = ("package_ip.tcl", "block_design.tcl", "vivado_flow.tcl", "build_host.tcl", "run_host.tcl")
REPORTS = {"utilization": "utilization.rpt", "utilization_hier": "utilization_hier.rpt",
           "timing": "timing_summary.rpt", "power": "power.rpt",
           "hls_rpt": "hls_csynth.rpt", "hls_xml": "hls_csynth.xml", "hls_cosim": "hls_cosim.rpt"}
EMIO_FIRST_PIN = 54  # Zynq-7000: EMIO GPIO bit 0 is GPIO pin 54


POINTER_REG_BASE, POINTER_REG_STRIDE = 0x10, 0xC  # Vitis s_axilite: 64-bit pointer arguments in order


@dataclass(frozen=True)
class AddressMap:
    """Where GP0 sees the DMA and kernel registers; the host program uses the same numbers."""

    dma_base: int = 0x4040_0000
    dma_range: str = "64K"
    kernel_base: int = 0x43C0_0000
    kernel_range: str = "64K"


@dataclass(frozen=True)
class FlowConfig:
    jobs: int = 4
    hls_tool: str = "vitis_hls"
    address_map: AddressMap = field(default_factory=AddressMap)
    led_port: str = "leds"
    led_count: int = 2  # bit 0 done, bit 1 error
    dma_length_width: int = 23  # bytes per simple transfer up to 8 MiB
    cosim: bool = False  # C/RTL co-simulation on the testbench vectors after C synthesis


@dataclass(frozen=True)
class FlowPlan:
    """Every value the scripts are rendered from; written to flow.json."""

    build_name: str
    board_name: str
    part: str
    board_part: str
    fclk_mhz: int
    top: str
    kernel_vlnv: str
    kernel_cell: str
    input_port: str
    output_port: str
    control_pin: str
    clock_pin: str
    reset_pin: str
    interrupt_pin: str
    design_name: str
    project_name: str
    hls_dir: str
    hls_script: str
    hls_tool: str
    hls_args: tuple[str, ...]
    ip_repo: str
    ip_subdir: str
    report_copies: tuple[str, ...]
    xdc: str
    bitstream: str
    xsa: str
    elf: str
    jobs: int
    led_port: str
    led_count: int
    dma_length_width: int
    axis_bits: int
    dma_base: int
    dma_range: str
    kernel_base: int
    kernel_range: str
    reports: dict
    ip: dict
    ddr_pins: tuple[str, ...] = ()  # the kernel's AXI masters for weights in DDR (m_axi_gmem0..), () when on chip
    ddr_words: int = 0  # 64-bit words of the weight image the host places in DDR
    # per AXI master: its pointer register in the control bundle (low word; high word at +4) and its segment's
    # offset in the image. Vitis gives the control bundle's pointer arguments, in order, 12 bytes each from
    # 0x10 (data low, data high, reserved); the driver header xpycompress_top_hw.h of the exported IP lists them.
    ddr_regs: tuple[tuple[int, int], ...] = ()
    engine: str = "hls"  # hls: an HLS kernel (scripts/run_hls.tcl); rtl: the RTL engine (scripts/package_ip.tcl)
    ip_step: str = "scripts/run_hls.tcl"  # the script that puts the kernel IP into ip_repo
    ip_kind: str = "HLS IP"
    rtl_sources: tuple[str, ...] = ()  # rtl: SystemVerilog files in hls_dir, compile order, the top last
    rtl_images: tuple[str, ...] = ()  # rtl: $readmemh images in hls_dir

    def to_dict(self) -> dict:
        return asdict(self)


def plan_flow(build_name: str, manifest: KernelManifest, board: Board, config: FlowConfig = FlowConfig(),
              hls_dir: str = "hls") -> FlowPlan:
    """All names and numbers of one build, from the kernel manifest and the board."""
    if manifest.part and manifest.part != board.part:
        raise PycompressError(f"{manifest.hls_dir}: HLS project targets {manifest.part}, board {board.name} is {board.part}")
    if abs(manifest.clock_period_ns - board.clock_period_ns) > 1e-9:
        raise PycompressError(f"{manifest.hls_dir}: HLS clock {manifest.clock_period_ns} ns, "
                              f"board PL clock {board.clock_period_ns} ns")
    name = sanitize_identifier(build_name, prefix="build")
    am = config.address_map
    rpt = manifest.report_subdir
    return FlowPlan(
        build_name=name, board_name=board.name, part=board.part, board_part=board.board_part, fclk_mhz=board.pl_clock_mhz,
        top=manifest.top, kernel_vlnv=manifest.kernel_vlnv, kernel_cell=f"{manifest.top}_0",
        input_port=manifest.input_port, output_port=manifest.output_port,
        control_pin=f"s_axi_{manifest.control_bundle}", clock_pin=HLS_CLOCK_PIN, reset_pin=HLS_RESET_PIN,
        interrupt_pin=HLS_INTERRUPT_PIN, design_name=DESIGN_NAME, project_name=f"{name}_vivado",
        hls_dir=hls_dir, hls_script=manifest.build_script, hls_tool=config.hls_tool,
        hls_args=tuple(hls_args(config.hls_tool, config.cosim)),
        ip_repo=f"{hls_dir}/{manifest.ip_subdir}", ip_subdir=manifest.ip_subdir,
        report_copies=(f"{rpt}/{manifest.top}_csynth.rpt", REPORTS["hls_rpt"],
                       f"{rpt}/{manifest.top}_csynth.xml", REPORTS["hls_xml"],
                       f"{rpt}/csynth.rpt", REPORTS["hls_rpt"], f"{rpt}/csynth.xml", REPORTS["hls_xml"])
        + ((f"{_sim_report(rpt)}/{manifest.top}_cosim.rpt", REPORTS["hls_cosim"]) if config.cosim else ()),
        xdc=f"constraints/{board.name}.xdc", bitstream=f"{name}.bit", xsa=f"{name}.xsa", elf=f"{name}_host.elf",
        jobs=config.jobs, led_port=config.led_port, led_count=config.led_count,
        dma_length_width=config.dma_length_width, axis_bits=ki.AXIS_DATA_BITS,
        dma_base=am.dma_base, dma_range=am.dma_range, kernel_base=am.kernel_base, kernel_range=am.kernel_range,
        reports=dict(REPORTS), ip=dict(IP_VLNV),
        ddr_pins=manifest.ddr.pins if manifest.ddr else (), ddr_words=manifest.ddr.words if manifest.ddr else 0,
        ddr_regs=tuple((POINTER_REG_BASE + POINTER_REG_STRIDE * k, p.offset_words)
                       for k, p in enumerate(manifest.ddr.ports)) if manifest.ddr else (),
    )


def _sim_report(syn_report: str) -> str:
    """Where Vitis writes the co-simulation report: <solution>/sim/report beside <solution>/syn/report."""
    head, _, tail = syn_report.rpartition("syn/")
    return head + "sim/" + tail if tail else syn_report


def hls_args(hls_tool: str, cosim: bool = False) -> list[str]:
    """Arguments for the generated build_prj.tcl: C synthesis and IP export (the C simulation runs here
    with g++), plus C/RTL co-simulation on the testbench vectors when `cosim`; `legacy=1` selects the
    Vivado HLS 2019.x/2020.x solution options and -std=c++11."""
    return ["csim=0", "synth=1", f"cosim={int(cosim)}", "export=1"] + (["legacy=1"] if hls_tool == "vivado_hls" else [])


def render_scripts(plan: FlowPlan) -> dict[str, str]:
    """Script name -> text."""
    env = tcl_environment()
    values = plan.to_dict()
    values.update(plan.ip)
    values.update(processor="ps7_cortexa9_0", platform=f"{plan.build_name}_platform",
                  app=f"{plan.build_name}_host", baud=115200, ip_vendor=ki.IP_VENDOR, ip_library=plan.kernel_vlnv.split(":")[1],
                  ip_version=ki.IP_VERSION)
    return {name: render(env, f"{name}.j2", **values) for name in (RTL_SCRIPTS if plan.engine == "rtl" else SCRIPTS)}


def write_flow(build_dir: Path, plan: FlowPlan, board: Board) -> None:
    """Write scripts/, constraints/ and flow.json into an existing build folder."""
    scripts = build_dir / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    for name, text in render_scripts(plan).items():
        (scripts / name).write_text(text)
    xdc_src = BOARDS_DIR / board.name / f"{board.name}.xdc"
    if not xdc_src.is_file():
        raise PycompressError(f"board {board.name}: no constraints file {xdc_src}")
    (build_dir / plan.xdc).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(xdc_src, build_dir / plan.xdc)
    (build_dir / "flow.json").write_text(json.dumps(plan.to_dict(), indent=2, sort_keys=True) + "\n")
