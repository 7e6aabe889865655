"""cocotb test of the board top (pycompress_accel: AXI4-Lite control, AXI4-Stream in/out around the engine).

Drives the control registers as the host program does (IMAGES, GIE/IER, ap_start), streams the images in
with random gaps and takes the outputs under random backpressure, waits for ap_done and the interrupt,
reads every counter and writes a report ($ACCEL_CASE names the case file). Run by sim/accel_harness.py.
Not named test_*: pytest would collect it.
"""
from __future__ import annotations

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge


async def lite_write(dut, addr: int, data: int) -> None:
    dut.s_axi_control_AWADDR.value = addr
    dut.s_axi_control_AWVALID.value = 1
    dut.s_axi_control_WDATA.value = data
    dut.s_axi_control_WSTRB.value = 0xF
    dut.s_axi_control_WVALID.value = 1
    dut.s_axi_control_BREADY.value = 1
    aw = w = False
    while not (aw and w):
        await RisingEdge(dut.ap_clk)
        aw = aw or int(dut.s_axi_control_AWREADY.value) == 1
        w = w or int(dut.s_axi_control_WREADY.value) == 1
        if aw:
            dut.s_axi_control_AWVALID.value = 0
        if w:
            dut.s_axi_control_WVALID.value = 0
    while int(dut.s_axi_control_BVALID.value) == 0:
        await RisingEdge(dut.ap_clk)
    await RisingEdge(dut.ap_clk)
    dut.s_axi_control_BREADY.value = 0


async def lite_read(dut, addr: int) -> int:
    dut.s_axi_control_ARADDR.value = addr
    dut.s_axi_control_ARVALID.value = 1
    dut.s_axi_control_RREADY.value = 1
    while True:
        await RisingEdge(dut.ap_clk)
        if int(dut.s_axi_control_ARREADY.value) == 1:
            break
    dut.s_axi_control_ARVALID.value = 0
    while int(dut.s_axi_control_RVALID.value) == 0:
        await RisingEdge(dut.ap_clk)
    await FallingEdge(dut.ap_clk)
    value = int(dut.s_axi_control_RDATA.value)
    await RisingEdge(dut.ap_clk)
    dut.s_axi_control_RREADY.value = 0
    return value


@cocotb.test()
async def run_accel(dut):
    with open(os.environ["ACCEL_CASE"]) as f:
        case = json.load(f)
    regs = case["registers"]
    images = np.load(case["inputs"]).astype(np.uint32)
    n, n_out, stages = images.shape[0], case["n_out"], case["stages"]
    rng = random.Random(case.get("seed", 1))
    Clock(dut.ap_clk, 10, unit="ns").start()
    for s in ("s_axi_control_AWVALID", "s_axi_control_WVALID", "s_axi_control_ARVALID", "s_axi_control_BREADY",
              "s_axi_control_RREADY", "in_stream_TVALID", "out_stream_TREADY", "in_stream_TLAST"):
        getattr(dut, s).value = 0
    dut.ap_rst_n.value = 0
    await ClockCycles(dut.ap_clk, 4)
    dut.ap_rst_n.value = 1
    await ClockCycles(dut.ap_clk, 2)
    report = {"id": await lite_read(dut, regs["ident"]), "stages": await lite_read(dut, regs["stages"])}
    # before a start the stream is refused
    dut.in_stream_TVALID.value = 1
    dut.in_stream_TDATA.value = int(images[0, 0])
    await FallingEdge(dut.ap_clk)
    report["ready_before_start"] = int(dut.in_stream_TREADY.value)
    dut.in_stream_TVALID.value = 0
    await lite_write(dut, regs["images"], n)
    await lite_write(dut, regs["gie"], 1)
    await lite_write(dut, regs["ier"], 1)
    await lite_write(dut, regs["ctrl"], 1)  # ap_start, auto_restart 0
    flat = images.reshape(-1)
    sent, got, lasts, cycles = 0, [], [], 0
    limit = case["limit"]
    while len(got) < n * n_out and cycles < limit:
        await FallingEdge(dut.ap_clk)
        cycles += 1
        v = sent < flat.size and rng.random() < case["valid"]
        dut.in_stream_TVALID.value = int(v)
        dut.in_stream_TDATA.value = int(flat[sent]) if sent < flat.size else 0
        dut.in_stream_TLAST.value = int(sent % images.shape[1] == images.shape[1] - 1)
        r = rng.random() < case["ready"]
        dut.out_stream_TREADY.value = int(r)
        await RisingEdge(dut.ap_clk)
        if v and int(dut.in_stream_TREADY.value):
            sent += 1
        if r and int(dut.out_stream_TVALID.value):
            got.append(int(dut.out_stream_TDATA.value))
            lasts.append(int(dut.out_stream_TLAST.value))
    dut.in_stream_TVALID.value = 0
    await ClockCycles(dut.ap_clk, 4)
    report["interrupt"] = int(dut.interrupt.value)
    report["ctrl"] = await lite_read(dut, regs["ctrl"])  # ap_done, then cleared by this read
    report["ctrl_again"] = await lite_read(dut, regs["ctrl"])
    for name in ("images_in", "images_out", "run_cycles", "latency", "interval", "isr"):
        report[name] = await lite_read(dut, regs[name])
    report["stage_cycles"] = [await lite_read(dut, regs["stage_cycles"] + 4 * i) for i in range(stages)]
    report["compute_cycles"] = [await lite_read(dut, regs["compute_cycles"] + 4 * i) for i in range(stages)]
    await lite_write(dut, regs["isr"], 1)
    await ClockCycles(dut.ap_clk, 2)
    report["interrupt_after_clear"] = int(dut.interrupt.value)
    report.update(outputs=got, lasts=lasts, cycles=cycles, done=len(got) == n * n_out)
    with open(os.path.join(case["report_dir"], "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    assert report["done"], f"{len(got)} of {n * n_out} outputs after {cycles} cycles"
