"""The Vivado flow for the RTL engine (`pycompress bitstream --engine rtl`, `make bitstream ENGINE=rtl`).

The build folder holds rtl/ (the engine of pycompress.hw.plan.plan_rtl inside the board top
pycompress.hw.rtl.accel writes: SystemVerilog, $readmemh images, file list), scripts/
(package_ip.tcl packages rtl/ as an IP into ip/; block_design.tcl, vivado_flow.tcl,
build_host.tcl and run_host.tcl as for the HLS kernel: the same ZedBoard block design, AXI DMA
on HP0, the same pin names), constraints/, host/src (the bare-metal program, which also reads the
engine's cycle counters) and flow.json. Only Vivado is needed (no HLS tool).
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from pycompress.hw import kernel_interface as ki
from pycompress.hw.board import Board
from pycompress.hw.rtl.accel import ACCEL_FILE_LIST, ACCEL_TOP, REGISTERS, accel_files, accel_vlnv
from .flow import FlowConfig, FlowPlan, plan_flow, write_flow
from .host import ImageSet, write_host
from .manifest import KernelManifest

RTL_DIR_NAME = "rtl"
IP_DIR_NAME = "ip"


def rtl_manifest(build_dir: Path, plan, km, board: Board) -> KernelManifest:
    """The RTL top as the block design and the host program see it (what project.json is for an HLS kernel)."""
    n_out = plan.layers[-1].n_out
    data = {"top": ACCEL_TOP, "engine": "rtl", "lanes": plan.lanes, "registers": REGISTERS.__dict__}
    return KernelManifest(build_dir / RTL_DIR_NAME, ACCEL_TOP, ki.INPUT_PORT, ki.OUTPUT_PORT, ki.CONTROL_BUNDLE,
                          plan.layers[0].n_in, n_out, n_out, tuple(plan.input_shape), board.part, board.clock_period_ns,
                          "", IP_DIR_NAME, "", False, "", (), data)


def assemble_rtl(build_dir: Path, name: str, board: Board, tests: ImageSet, model: Path,
                 config: FlowConfig = FlowConfig(), parallel=None) -> FlowPlan:
    """Write rtl/, scripts/, constraints/, host/src and flow.json for the RTL engine of `model`."""
    from pycompress.core import container
    from pycompress.hw.plan import kernel_model, plan_rtl

    km = kernel_model(container.load(model))
    eplan = plan_rtl(km, parallel, board=board.name)
    files = accel_files(eplan, km, Path(model).stem)
    rtl = build_dir / RTL_DIR_NAME
    rtl.mkdir(parents=True, exist_ok=True)
    for fname, text in files.items():
        (rtl / fname).write_text(text, encoding="utf-8")
    sources = tuple(files[ACCEL_FILE_LIST].split())
    images = tuple(sorted(n for n in files if n.endswith(".mem")))
    manifest = rtl_manifest(build_dir, eplan, km, board)
    plan = plan_flow(name, manifest, board, config, hls_dir=RTL_DIR_NAME)
    plan = replace(plan, kernel_vlnv=accel_vlnv(), kernel_cell=f"{ACCEL_TOP}_0", ip_repo=IP_DIR_NAME, ip_subdir=IP_DIR_NAME,
                   hls_script="", hls_args=(), report_copies=(), engine="rtl", ip_step="scripts/package_ip.tcl", ip_kind="RTL engine IP",
                   rtl_sources=sources, rtl_images=images)
    write_flow(build_dir, plan, board)
    write_host(build_dir, plan, manifest, tests, rtl_counters=len(eplan.layers))
    (build_dir / "engine.json").write_text(json.dumps(
        {"lanes": eplan.lanes, "latency_estimate": eplan.latency(), "interval_estimate": eplan.interval(),
         "stages": [l.name for l in eplan.layers]}, indent=2) + "\n")
    return plan
