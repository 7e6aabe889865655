"""Stream drivers shared by the cocotb testbenches in sim/ (engines, Huffman decoder and streamer).

All of them drive and sample at the falling edge: the DUT's outputs are settled registers there, and
a beat with valid and ready high moves at the next rising edge. The random valid/ready pattern
(`Gate`) draws from the test's seeded Random in a fixed order, so a seed replays the same stalls.
The engine helpers (`open_case` .. `finish`) hold what fc_engine_cocotb and conv_engine_cocotb
share: case file, s_axis/m_axis beats, output checks and the report.
"""
from __future__ import annotations

import json
import os
import random
from typing import Iterable

import numpy as np
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


async def reset(dut, low: Iterable, cycles: int = 3) -> None:
    """rst_n low for `cycles` clocks with the `low` inputs at 0; returns at the falling edge rst_n rises."""
    await FallingEdge(dut.clk)
    dut.rst_n.value = 0
    for s in low:
        s.value = 0
    await ClockCycles(dut.clk, cycles)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1


# ---- engines (rtl/fc_engine.sv, rtl/conv_engine.sv): s_axis in, m_axis out ----

def open_case() -> tuple[dict, np.ndarray, random.Random, Gate, Gate]:
    """The case file ($PYCOMPRESS_CASE): (case, inputs uint32, rng, s_axis valid gate, m_axis ready gate)."""
    with open(os.environ["PYCOMPRESS_CASE"]) as f:
        case = json.load(f)
    rng = random.Random(case.get("seed", 1))
    in_gate = Gate(rng, case.get("valid_prob", 1.0), case.get("stall_prob", 0.0))
    out_gate = Gate(rng, case.get("ready_prob", 1.0), case.get("stall_prob", 0.0))
    return case, np.load(case["inputs"]).astype(np.uint32), rng, in_gate, out_gate


async def reset_engine(dut) -> None:
    await reset(dut, (dut.start, dut.s_axis_tvalid, dut.s_axis_tdata, dut.m_axis_tready))
    await FallingEdge(dut.clk)


def offer(dut, gate: Gate, row: np.ndarray, sent: int) -> int:
    """This clock's s_axis beat (row[sent] while any is left); returns the inputs sent after it."""
    left = sent < row.size
    v = gate() if left else 0
    dut.s_axis_tvalid.value = v
    dut.s_axis_tdata.value = int(row[sent]) if left else 0
    return sent + int(bool(v) and bit(dut.s_axis_tready) == 1)


def take(dut, gate: Gate, got: list[int], lasts: list[int]) -> None:
    """This clock's m_axis ready; a beat that moves is appended to got/lasts."""
    r = gate()
    dut.m_axis_tready.value = r
    if r and bit(dut.m_axis_tvalid):
        got.append(int(dut.m_axis_tdata.value))
        lasts.append(bit(dut.m_axis_tlast))


def check_image(img: int, got: list[int], lasts: list[int], outputs: np.ndarray, errors: list[str]) -> None:
    """n_out outputs with tlast on the last only; stores them in outputs[img]."""
    n_out = outputs.shape[1]
    if len(got) != n_out or lasts[-1:] != [1] or sum(lasts) != 1:
        errors.append(f"image {img}: {len(got)} outputs of {n_out}, tlast at {[i for i, t in enumerate(lasts) if t]}")
    outputs[img, :len(got[:n_out])] = got[:n_out]


async def pause(dut, rng: random.Random) -> None:
    """0..3 idle clocks between images."""
    await ClockCycles(dut.clk, rng.randint(0, 3))
    await FallingEdge(dut.clk)


def finish(case: dict, outputs: np.ndarray, cycles: list[int], compute: list[int], errors: list[str]) -> None:
    """Writes outputs.npy and report.json into the case's report_dir, then asserts no errors."""
    np.save(os.path.join(case["report_dir"], "outputs.npy"), outputs)
    report = {"layer": case["layer"], "images": int(outputs.shape[0]), "cycles": cycles, "compute_cycles": compute,
              "errors": errors, "passed": not errors}
    with open(os.path.join(case["report_dir"], "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    assert not errors, errors[0]
