"""cocotb side of a pooling unit on its own (rtl/maxpool_unit.sv): images in on s_axis, results out on m_axis.

Run by sim/pool_unit.py, which names the case file in $PYCOMPRESS_CASE: {"inputs": .npy of uint32 (images,
C*H*W), "n_out", "seed", "valid_prob", "ready_prob", "stall_prob", "report_dir"}. Writes outputs.npy (uint32,
images x n_out, as received) and report.json: per image the clocks from its first input beat to its last
output beat, and tlast errors. The comparison with the reference is the caller's.
"""
from __future__ import annotations

import json
import os

import numpy as np
import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

from axis_tb import Gate, bit, open_case, reset  # noqa: F401


@cocotb.test()
async def run_images(dut):
    case, inputs, rng, in_gate, out_gate = open_case()
    Clock(dut.clk, 10, unit="ns").start()
    await reset(dut, (dut.s_axis_tvalid, dut.s_axis_tdata, dut.m_axis_tready))
    await FallingEdge(dut.clk)
    n_img, n_out = inputs.shape[0], int(case["n_out"])
    outputs = np.zeros((n_img, n_out), np.uint32)
    errors: list[str] = []
    cycles: list[int] = []
    limit = 40 * inputs.size + 2000
    for img in range(n_img):
        row, sent, got, lasts, clock, first = inputs[img], 0, [], [], 0, None
        while (len(got) < n_out or sent < row.size) and clock < limit:
            left = sent < row.size
            v = in_gate() if left else 0
            dut.s_axis_tvalid.value = v
            dut.s_axis_tdata.value = int(row[sent]) if left else 0
            r = out_gate()
            dut.m_axis_tready.value = r
            await Timer(1, unit="ns")  # s_axis_tready follows m_axis_tready through the unit's logic: let it settle
            moved_in = bool(v) and bit(dut.s_axis_tready) == 1
            if moved_in and first is None:
                first = clock
            if r and bit(dut.m_axis_tvalid):
                got.append(int(dut.m_axis_tdata.value))
                lasts.append(bit(dut.m_axis_tlast))
            sent += int(moved_in)
            await FallingEdge(dut.clk)
            clock += 1
        if sent != row.size or len(got) != n_out or lasts[-1:] != [1] or sum(lasts) != 1:
            errors.append(f"image {img}: {sent}/{row.size} in, {len(got)}/{n_out} out, "
                          f"tlast at {[i for i, t in enumerate(lasts) if t]}")
        outputs[img, :len(got)] = got[:n_out]
        cycles.append(clock - (first or 0))
    dut.s_axis_tvalid.value = 0
    dut.m_axis_tready.value = 0
    np.save(os.path.join(case["report_dir"], "outputs.npy"), outputs)
    with open(os.path.join(case["report_dir"], "report.json"), "w") as f:
        json.dump({"images": n_img, "cycles": cycles, "errors": errors}, f, indent=1)
