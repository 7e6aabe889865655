"""cocotb testbench of rtl/conv_engine.sv (run by sim/conv_harness.py, one Conv2d layer per simulator process).

The layer's geometry is fixed in the build; its lane tables are `$readmemh`
images named by plusargs; the case file ($PYCOMPRESS_CASE) gives the sizes, the
input activations (uint32 .npy, C,H,W per image) and the stream options. Every
image: pulse start, send the inputs on s_axis with random valid gaps and stalls,
let the engine compute (the testbench sleeps until m_axis_tvalid rises, so no
Python runs per compute clock), take the outputs from m_axis under random
backpressure and stalls. Stream beats, checks and report: sim/axis_tb.py, as
fc_engine_cocotb. Writes outputs.npy (uint32) and report.json (cycles per image).
"""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, with_timeout
from cocotb.utils import get_sim_time

from axis_tb import bit, check_image, finish, offer, open_case, pause, reset_engine, take

PERIOD_NS = 10


@cocotb.test()
async def run_conv_layer(dut):
    case, x, rng, in_gate, out_gate = open_case()
    n_in, n_out = case["n_in"], case["n_out"]

    Clock(dut.clk, PERIOD_NS, unit="ns").start()
    await reset_engine(dut)

    outputs = np.zeros((x.shape[0], n_out), np.uint32)
    cycles, compute, errors = [], [], []
    limit = 20 * n_in + 2 * case["terms"] + 20 * n_out + 2000
    for img in range(x.shape[0]):
        t0 = get_sim_time("ns")
        dut.start.value = 1
        await FallingEdge(dut.clk)
        dut.start.value = 0
        sent, got, lasts, done = 0, [], [], False
        while sent < n_in:  # the input, with random gaps
            sent = offer(dut, in_gate, x[img], sent)
            await FallingEdge(dut.clk)
        dut.s_axis_tvalid.value = 0
        try:  # compute: no per-clock Python until the first output
            if not bit(dut.m_axis_tvalid):
                await with_timeout(RisingEdge(dut.m_axis_tvalid), limit * PERIOD_NS, "ns")
            await FallingEdge(dut.clk)
        except Exception:  # noqa: BLE001  (cocotb's timeout type moved between versions)
            errors.append(f"image {img}: no output {limit} cycles after the input")
            break
        while not done:  # the output, under random backpressure
            if get_sim_time("ns") - t0 > limit * PERIOD_NS:
                errors.append(f"image {img}: no done after {limit} cycles ({len(got)} outputs)")
                break
            take(dut, out_gate, got, lasts)
            await FallingEdge(dut.clk)
            done = bit(dut.done) == 1
        dut.m_axis_tready.value = 0
        check_image(img, got, lasts, outputs, errors)
        cycles.append(int((get_sim_time("ns") - t0) // PERIOD_NS))
        compute.append(int(dut.compute_cycles.value))
        if errors:
            break
        await pause(dut, rng)
    finish(case, outputs, cycles, compute, errors)
