"""cocotb testbench of rtl/coded_decoder.sv (run by sim/coded_harness.py, one lane per simulator process).

The decode table and codebook are loaded from images named by plusargs; the case file
($PYCOMPRESS_CASE) gives the lane's code words and the expected raw bits (the Python decode).
Signals are driven and sampled at the falling edge (axis_tb). Two passes over the lane: one with
random input gaps and output backpressure, one with both always ready, whose cycle count from
start to the last weight is the decoder's throughput (N + 5 cycles for N weights, runs included).
The report is written before the test asserts.
"""
from __future__ import annotations

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

import axis_tb
from axis_tb import Gate, bit


async def one_pass(dut, words: list[int], n: int, rng: random.Random, in_prob: float, ready_prob: float,
                   stall_prob: float) -> tuple[list[int], list[int], list[int], int]:
    """Decode the lane once; (weights, fp32, last flags, rising edges from start to the last weight)."""
    await FallingEdge(dut.clk)
    while bit(dut.busy):
        await FallingEdge(dut.clk)
    dut.n_weights.value = n
    dut.start.value = 1
    gate = Gate(rng, ready_prob, stall_prob)
    weights, fp32, last = [], [], []
    sent, offered, moving, edges, done_at = 0, False, False, 0, 0
    while len(weights) < n or sent < len(words):
        if moving:
            sent += 1
            offered = False
            dut.s_valid.value = 0
        if not offered and sent < len(words) and rng.random() < in_prob:
            dut.s_word.value = words[sent]
            dut.s_last.value = int(sent == len(words) - 1)
            dut.s_valid.value = 1
            offered = True
        moving = offered and bit(dut.s_ready)
        ready = gate()
        dut.m_ready.value = ready
        if ready and bit(dut.m_valid):
            weights.append(int(dut.m_weight.value.to_unsigned()))
            fp32.append(int(dut.m_fp32.value.to_unsigned()))
            last.append(bit(dut.m_last))
            done_at = edges + 1
        await FallingEdge(dut.clk)
        edges += 1
        dut.start.value = 0
        if edges > 50 * n + 1000:
            raise AssertionError(f"decoder stalled: {len(weights)} of {n} weights, {sent} of {len(words)} words")
    dut.m_ready.value = 0
    dut.s_valid.value = 0
    return weights, fp32, last, done_at


@cocotb.test()
async def decode_lane(dut):
    with open(os.environ["PYCOMPRESS_CASE"]) as f:
        case = json.load(f)
    exp = np.load(case["expected"])
    want_w, want_f = exp["weight"].astype(np.uint64), exp["fp32"].astype(np.uint64)
    words = [int(w) for w in exp["code"]]
    n = case["n"]
    rng = random.Random(case["seed"])
    Clock(dut.clk, 10, unit="ns").start()
    await axis_tb.reset(dut, (dut.start, dut.s_valid, dut.s_word, dut.s_last, dut.m_ready, dut.n_weights), 3)
    report = {"layer": case["layer"], "lane": case["lane"], "n": n, "checked": 0, "mismatches": 0, "first_mismatch": None}
    ok_last = True
    cycles = None
    for in_prob, ready_prob, stall in ((0.8, 0.7, 0.01), (1.0, 1.0, 0.0)):
        w, f, last, done_at = await one_pass(dut, words, n, rng, in_prob, ready_prob, stall)
        got_w, got_f = np.asarray(w, np.uint64), np.asarray(f, np.uint64)
        bad = np.flatnonzero((got_w != want_w[:got_w.size]) | (got_f != want_f[:got_f.size]))
        report["checked"] += int(got_w.size)
        report["mismatches"] += int(bad.size)
        if bad.size and report["first_mismatch"] is None:
            i = int(bad[0])
            report["first_mismatch"] = {"index": i, "expected": hex(int(want_w[i])), "got": hex(int(got_w[i]))}
        ok_last &= last == [0] * (n - 1) + [1] and len(w) == n
        cycles = done_at  # the last pass: input and output always ready
    await ClockCycles(dut.clk, 3)
    report.update(n=2 * n, cycles=cycles, last_ok=ok_last, idle_after=bit(dut.busy) == 0)
    report["passed"] = bool(report["checked"] == 2 * n and not report["mismatches"] and ok_last and report["idle_after"])
    with open(case["report"], "w") as fh:
        json.dump(report, fh, indent=1)
    assert report["first_mismatch"] is None, f"{case['layer']} lane {case['lane']}: {report['first_mismatch']}"
    assert report["passed"], report
