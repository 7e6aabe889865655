"""cocotb side of sim/network_tb.sv: start the clock, reset, wait for `done`, write a small report.

The testbench streams the images, applies backpressure, stalls and the mid-image
reset, and writes the outputs and cycle stamps itself, so Python does nothing per
cycle. Run by sim/network_harness.py (report path in $NETWORK_REPORT, cycle limit in
$NETWORK_LIMIT). Not named test_*: pytest would collect it.
"""
from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First, RisingEdge, Timer


@cocotb.test()
async def run_images(dut):
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1
    limit = int(os.environ["NETWORK_LIMIT"])
    if os.environ.get("NETWORK_PROGRESS"):
        cocotb.start_soon(_progress(dut, os.environ["NETWORK_PROGRESS"]))
    await First(RisingEdge(dut.done), Timer(10 * limit, unit="ns"))
    await ClockCycles(dut.clk, 2)  # the files are written the clock after done
    report = {"done": int(dut.done.value), "images_out": int(dut.images_out.value), "cycles": int(dut.cycles.value),
              "resets": int(dut.resets.value), "limit": limit}
    with open(os.environ["NETWORK_REPORT"], "w") as f:
        json.dump(report, f, indent=1)
    assert report["done"], f"timed out after {limit} cycles with {report['images_out']} images out"


async def _progress(dut, path: str, every: int = 50_000) -> None:
    """The images out so far, into `path` every `every` clocks (pycompress rtlsim prints it)."""
    while True:
        await ClockCycles(dut.clk, every)
        with open(path, "w") as f:
            f.write(f"{int(dut.images_out.value)}\n")
