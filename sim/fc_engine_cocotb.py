"""cocotb testbench of rtl/fc_engine.sv (run by sim/fc_harness.py, one Linear layer per simulator process).

The layer's lane tables are `$readmemh` images named by plusargs; the case file
($PYCOMPRESS_CASE) gives the layer shape, the input vectors (uint32 .npy) and
the stream options. Every image: pulse start, send the inputs on s_axis with
random valid gaps, take the outputs from m_axis under random backpressure and
stalls. Signals are driven and sampled on the falling edge (DUT outputs are
settled there; a beat with valid and ready high transfers on the next rising
edge). Writes outputs.npy (uint32) and report.json (cycles per image).
"""
from __future__ import annotations

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge


def bit(signal) -> int:
    return int(str(signal.value) == "1")


class Gate:
    """valid or ready of a stream port: high with probability `prob`, plus stalls of 1..20 cycles."""

    def __init__(self, rng: random.Random, prob: float, stall_prob: float):
        self.rng, self.prob, self.stall_prob, self.stall = rng, prob, stall_prob, 0

    def __call__(self) -> int:
        if self.stall:
            self.stall -= 1
            return 0
        if self.stall_prob and self.rng.random() < self.stall_prob:
            self.stall = self.rng.randint(1, 20)
            return 0
        return int(self.prob >= 1.0 or self.rng.random() < self.prob)


@cocotb.test()
async def run_layer(dut):
    with open(os.environ["PYCOMPRESS_CASE"]) as f:
        case = json.load(f)
    x = np.load(case["inputs"]).astype(np.uint32)
    n_in, n_groups, n_lanes = case["n_in"], case["n_groups"], case["n_lanes"]
    n_out = n_groups * n_lanes
    rng = random.Random(case.get("seed", 1))
    in_gate = Gate(rng, case.get("valid_prob", 1.0), case.get("stall_prob", 0.0))
    out_gate = Gate(rng, case.get("ready_prob", 1.0), case.get("stall_prob", 0.0))

    Clock(dut.clk, 10, unit="ns").start()
    await FallingEdge(dut.clk)
    dut.rst_n.value = 0
    dut.start.value = 0
    dut.s_axis_tvalid.value = 0
    dut.s_axis_tdata.value = 0
    dut.m_axis_tready.value = 0
    dut.n_in.value = n_in
    dut.n_groups.value = n_groups
    dut.n_lanes.value = n_lanes
    dut.relu.value = int(case["relu"])
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1
    await FallingEdge(dut.clk)

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
            v = in_gate() if sent < n_in else 0
            dut.s_axis_tvalid.value = v
            dut.s_axis_tdata.value = int(x[img, sent]) if sent < n_in else 0
            if v and bit(dut.s_axis_tready):
                sent += 1
            r = out_gate()
            dut.m_axis_tready.value = r
            if r and bit(dut.m_axis_tvalid):
                got.append(int(dut.m_axis_tdata.value))
                lasts.append(bit(dut.m_axis_tlast))
            await FallingEdge(dut.clk)
            edges += 1
            done = bit(dut.done) == 1
        dut.s_axis_tvalid.value = 0
        dut.m_axis_tready.value = 0
        if len(got) != n_out or lasts[-1:] != [1] or sum(lasts) != 1:
            errors.append(f"image {img}: {len(got)} outputs of {n_out}, tlast at {[i for i, t in enumerate(lasts) if t]}")
        outputs[img, :len(got[:n_out])] = got[:n_out]
        cycles.append(edges)
        compute.append(int(dut.compute_cycles.value))
        await ClockCycles(dut.clk, rng.randint(0, 3))
        await FallingEdge(dut.clk)

    np.save(os.path.join(case["report_dir"], "outputs.npy"), outputs)
    report = {"layer": case["layer"], "images": int(x.shape[0]), "cycles": cycles, "compute_cycles": compute,
              "errors": errors, "passed": not errors}
    with open(os.path.join(case["report_dir"], "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    assert not errors, errors[0]
