"""cocotb side of sim/fp_units_tb.sv: start the clock, reset, wait for `done`, report the counters.

The testbench checks every result in hardware, so Python does nothing per cycle.
Run by sim/fp_units.py, which names the report file in $FP_UNITS_REPORT and the
input bubbles in $FP_UNITS_GAPS.
"""
from __future__ import annotations

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First, RisingEdge, Timer

UNITS = ("mul_sub", "add_sub", "mul_ftz", "add_ftz", "mul8_sub", "mul8_ftz", "mul4_sub", "mul4_ftz")


@cocotb.test()
async def run_vectors(dut):
    Clock(dut.clk, 10, unit="ns").start()
    gaps = int(os.environ.get("FP_UNITS_GAPS", "0"))
    dut.gaps.value = gaps
    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1
    n = int(dut.n_vec.value)
    limit = (3 if gaps else 1) * n + 100
    await First(RisingEdge(dut.done), Timer(10 * limit, unit="ns"))
    await FallingEdge(dut.clk)
    report = {"n": n, "gaps": gaps, "done": int(dut.done.value), "cycles": int(dut.cycles.value),
              "lat_mul": int(dut.lat_mul.value), "lat_add": int(dut.lat_add.value), "units": {}}
    word = lambda sig, i: (int(sig.value) >> (32 * i)) & 0xFFFFFFFF  # noqa: E731
    for i, u in enumerate(UNITS):
        err, first, got = word(dut.err_all, i), word(dut.first_all, i), word(dut.got_all, i)
        report["units"][u] = {"mismatches": err, "first_index": first if err else None,
                              "got": f"{got:08x}" if err else None}
    with open(os.environ["FP_UNITS_REPORT"], "w") as f:
        json.dump(report, f, indent=1)
    assert report["done"], f"timed out after {limit} cycles"


@cocotb.test()
async def run_mac(dut):
    """sim/fp_mac_tb.sv: the schedule plays one line a clock; the testbench counts wrong sums."""
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1
    limit = int(os.environ["FP_MAC_LINES"]) + 100
    await First(RisingEdge(dut.done), Timer(10 * limit, unit="ns"))
    await FallingEdge(dut.clk)
    report = {"results": int(dut.n_vec.value), "done": int(dut.done.value), "cycles": int(dut.cycles.value),
              "units": {}}
    for u in ("sub", "ftz"):
        err = int(getattr(dut, f"err_{u}").value)
        report["units"][u] = {"mismatches": err, "first_index": int(getattr(dut, f"first_{u}").value) if err else None,
                              "got": f"{int(getattr(dut, f'got_{u}').value):08x}" if err else None}
    with open(os.environ["FP_UNITS_REPORT"], "w") as f:
        json.dump(report, f, indent=1)
    assert report["done"], f"timed out after {limit} cycles"
