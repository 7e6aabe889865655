"""The RTL engine on the board: the AXI4-Stream / AXI4-Lite top (rtl/templates/accel_top.sv.j2) and its registers.

The register map is defined here once; the top's SystemVerilog and the host program's
header (pycompress/hw/vivado) are rendered from it. The top's pin names are the HLS
kernel's (ap_clk, ap_rst_n, interrupt, s_axi_control_*, in_stream_*, out_stream_*), so the
same ZedBoard block design takes either kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

from pycompress.hw import kernel_interface as ki
from pycompress.hw.names import ModelName
from .images import _env
from .render import ENGINE_TOP, FILE_LIST, render_engine

ACCEL_TOP = "pycompress_accel"
ACCEL_FILE_LIST = f"{ACCEL_TOP}.f"
IP_LIBRARY = "rtl"  # the IP catalog library of the packaged RTL (the HLS kernel's is kernel_interface.IP_LIBRARY)
MAX_STAGES = 16


@dataclass(frozen=True)
class Registers:
    """Byte addresses of the control and status registers (AXI4-Lite, 32-bit)."""

    ctrl: int = 0x00
    gie: int = 0x04
    ier: int = 0x08
    isr: int = 0x0C
    images: int = 0x10
    images_in: int = 0x14
    images_out: int = 0x18
    run_cycles: int = 0x1C
    latency: int = 0x20
    interval: int = 0x24
    stages: int = 0x28
    ident: int = 0x2C
    stage_cycles: int = 0x40  # + 4 * stage
    compute_cycles: int = 0x80  # + 4 * stage
    id_value: int = 0x5043_5254  # "PCRT"
    addr_bits: int = 8

    def describe(self) -> list[str]:
        return [
            f"0x{self.ctrl:02X} CTRL   bit 0 ap_start (write 1: run; reads 1 while running), bit 2 ap_idle,",
            "          bit 1 ap_done (sticky, cleared when read or at a start),",
            "          bit 7 auto_restart (1: run until it is cleared, IMAGES ignored)",
            f"0x{self.gie:02X} GIE    bit 0 global interrupt enable; 0x{self.ier:02X} IER bit 0 done interrupt enable; "
            f"0x{self.isr:02X} ISR bit 0 done (write 1 to clear)",
            f"0x{self.images:02X} IMAGES images per run; 0x{self.images_in:02X} IMAGES_IN, 0x{self.images_out:02X} IMAGES_OUT "
            "images taken in and sent out since the start",
            f"0x{self.run_cycles:02X} RUN_CYCLES clocks since the start (frozen at done)",
            f"0x{self.latency:02X} LATENCY clocks from the run's first input word to its first image's last output word",
            f"0x{self.interval:02X} INTERVAL clocks between the last two images' last output words",
            f"0x{self.stages:02X} STAGES stages of the engine; 0x{self.ident:02X} ID 0x{self.id_value:08X} (\"PCRT\")",
            f"0x{self.stage_cycles:02X} + 4*i stage i's interval; 0x{self.compute_cycles:02X} + 4*i stage i's compute cycles "
            "(a MAC engine's first term to last result of its latest image)",
        ]


REGISTERS = Registers()


def accel_files(plan, km, model_label: str = "model") -> dict[str, str]:
    """The engine's files (render_engine) plus the board top and a file list with it last: file name -> text."""
    files = render_engine(plan, km, model_label)
    stages = len(plan.layers)
    if stages > MAX_STAGES:
        from pycompress.core.errors import PycompressError

        raise PycompressError(f"RTL engine: {stages} stages; the board top's registers hold {MAX_STAGES}")
    files[f"{ACCEL_TOP}.sv"] = _env().get_template("accel_top.sv.j2").render(
        top=ACCEL_TOP, engine=ENGINE_TOP, model=ModelName(model_label), stages=stages, max_stages=MAX_STAGES,
        n_in=plan.layers[0].n_in, addr_bits=REGISTERS.addr_bits, regs=REGISTERS)
    files[ACCEL_FILE_LIST] = files[FILE_LIST] + f"{ACCEL_TOP}.sv\n"
    return files


def accel_vlnv() -> str:
    return f"{ki.IP_VENDOR}:{IP_LIBRARY}:{ACCEL_TOP}:{ki.IP_VERSION}"
