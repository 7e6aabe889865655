"""cocotb testbench of rtl/fc_engine.sv (run by sim/fc_harness.py, one Linear layer per simulator process).

The layer's lane tables are `$readmemh` images named by plusargs; the case file
($PYCOMPRESS_CASE) gives the layer shape, the input vectors (uint32 .npy) and
the stream options. Every image: pulse start, send the inputs on s_axis with
random valid gaps, take the outputs from m_axis under random backpressure and
stalls (sim/axis_tb.py, shared with conv_engine_cocotb). Writes outputs.npy
(uint32) and report.json (cycles per image).
"""
from __future__ import annotations

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from axis_tb import bit, check_image, finish, offer, open_case, pause, reset_engine, take


@cocotb.test()
async def run_layer(dut):
    case, x, rng, in_gate, out_gate = open_case()
    n_in, n_groups, n_lanes = case["n_in"], case["n_groups"], case["n_lanes"]
    n_out = n_groups * n_lanes

    Clock(dut.clk, 10, unit="ns").start()
    dut.n_in.value = n_in
    dut.n_groups.value = n_groups
    dut.n_lanes.value = n_lanes
    dut.relu.value = int(case["relu"])
    await reset_engine(dut)

    outputs = np.zeros((x.shape[0], n_out), np.uint32)
    cycles, compute, errors = [], [], []
    limit = 20 * (n_in + 1) * n_groups + 20 * (n_in + n_out) + 2000
    for img in range(x.shape[0]):
        dut.start.value = 1
        await FallingEdge(dut.clk)
        dut.start.value = 0
        sent, got, lasts, edges, done = 0, [], [], 1, False
        while not done:
            if edges > limit:
                errors.append(f"image {img}: no done after {limit} cycles ({sent} inputs sent, {len(got)} outputs)")
                break
            sent = offer(dut, in_gate, x[img], sent)
            take(dut, out_gate, got, lasts)
            await FallingEdge(dut.clk)
            edges += 1
            done = bit(dut.done) == 1
        dut.s_axis_tvalid.value = 0
        dut.m_axis_tready.value = 0
        check_image(img, got, lasts, outputs, errors)
        cycles.append(edges)
        compute.append(int(dut.compute_cycles.value))
        await pause(dut, rng)
    finish(case, outputs, cycles, compute, errors)
