"""cocotb testbench of rtl/huffman_decoder.sv (run by sim/huffman_harness.py, one tensor per simulator process).

The decode table, sign and mantissa ROMs are loaded from images named by plusargs; the
case file ($PYCOMPRESS_CASE) gives the code words, the decoder commands (first weight,
count, skip bits, word range) and the expected raw bits (the Python decode). Every clock,
at the falling edge (all DUT outputs are settled registers), the driver offers the next code
word (with random gaps: input stalls) and the sink sets ready (random backpressure and
stalls); a word or weight moves on the next rising edge when valid and ready are both high.
Each test writes a JSON report before it asserts.
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


def load_case() -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    with open(os.environ["PYCOMPRESS_CASE"]) as f:
        case = json.load(f)
    exp = np.load(case["expected"])
    return case, exp["weight"].astype(np.uint64), exp["fp32"].astype(np.uint64), exp["code"].astype(np.int64)


async def reset(dut, cycles: int = 3) -> None:
    await axis_tb.reset(dut, (dut.start, dut.s_valid, dut.s_word, dut.s_last, dut.m_ready, dut.first, dut.skip,
                              dut.n_weights), cycles)


class Run:
    """One decoder command: its input words and the beats that came out."""

    def __init__(self, cmd: dict, code: np.ndarray):
        self.cmd = cmd
        self.words = [int(w) for w in code[cmd["word0"]:cmd["word_last"] + 1]]
        self.sent = 0
        self.weight: list[int] = []
        self.fp32: list[int] = []
        self.last: list[int] = []
        self.beat_cycles: list[int] = []


async def run_commands(dut, runs: list[Run], rng: random.Random, in_prob: float, ready_prob: float,
                       stall_prob: float, max_cycles: int) -> int:
    """Issue each command (start pulse) and feed its words, one command after the other; returns cycles."""
    edges = 0
    out_gate = Gate(rng, ready_prob, stall_prob)  # output: random backpressure and stalls of 1..20 cycles
    for run in runs:
        await FallingEdge(dut.clk)
        while bit(dut.busy):  # the previous command drains its input and output
            await FallingEdge(dut.clk)
            edges += 1
        dut.first.value = run.cmd["first"]
        dut.skip.value = run.cmd["skip"]
        dut.n_weights.value = run.cmd["n"]
        dut.start.value = 1
        start_edge = edges
        offered = moving = False
        while len(run.weight) < run.cmd["n"] or run.sent < len(run.words):
            if moving:  # the word offered moved at the rising edge just past
                run.sent += 1
                offered = False
                dut.s_valid.value = 0
            # input: an offered word is held until taken; the next is offered with probability in_prob
            if not offered and run.sent < len(run.words) and rng.random() < in_prob:
                dut.s_word.value = run.words[run.sent]
                dut.s_last.value = int(run.sent == len(run.words) - 1)
                dut.s_valid.value = 1
                offered = True
            moving = offered and bit(dut.s_ready)
            ready = out_gate()
            dut.m_ready.value = ready
            if ready and bit(dut.m_valid):
                run.weight.append(int(dut.m_weight.value.to_unsigned()))
                run.fp32.append(int(dut.m_fp32.value.to_unsigned()))
                run.last.append(bit(dut.m_last))
                run.beat_cycles.append(edges - start_edge + 1)  # rising edges since the one that sampled start
            await FallingEdge(dut.clk)
            edges += 1
            dut.start.value = 0
            if edges > max_cycles:
                raise AssertionError(f"decoder stalled: {len(run.weight)} of {run.cmd['n']} weights, "
                                     f"{run.sent} of {len(run.words)} words after {edges} cycles")
        dut.m_ready.value = 0
        dut.s_valid.value = 0
    return edges


def compare(case: dict, exp_w: np.ndarray, exp_f: np.ndarray, runs: list[Run]) -> dict:
    report = {"layer": case["layer"], "format": case["format"], "n": 0, "checked": 0, "mismatches": 0,
              "first_mismatch": None, "last_ok": True, "commands": len(runs)}
    for run in runs:
        lo, n = run.cmd["first"], run.cmd["n"]
        want_w, want_f = exp_w[lo:lo + n], exp_f[lo:lo + n]
        got_w = np.asarray(run.weight[:n], np.uint64)
        got_f = np.asarray(run.fp32[:n], np.uint64)
        report["n"] += n
        report["checked"] += int(got_w.size)
        bad = np.flatnonzero((got_w != want_w[:got_w.size]) | (got_f != want_f[:got_f.size]))
        report["mismatches"] += int(bad.size)
        if bad.size and report["first_mismatch"] is None:
            i = int(bad[0])
            report["first_mismatch"] = {"index": lo + i, "expected_weight": hex(int(want_w[i])),
                                        "got_weight": hex(int(got_w[i])), "got_fp32": hex(int(got_f[i])),
                                        "expected_fp32": hex(int(want_f[i]))}
        report["last_ok"] &= run.last == [0] * (n - 1) + [1] and len(run.weight) == n
    report["passed"] = bool(report["checked"] == report["n"] and not report["mismatches"] and report["last_ok"])
    return report


def finish(case: dict, report: dict, test: str) -> None:
    report["test"] = test
    with open(os.path.join(case["report_dir"], f"report-{test}.json"), "w") as f:
        json.dump(report, f, indent=1)
    m = report.get("first_mismatch")
    assert m is None, f"{case['layer']}: {report['mismatches']} weights differ; first {m}"
    assert report["checked"] == report["n"], f"{case['layer']}: {report['checked']} of {report['n']} weights came out"
    assert report["last_ok"], f"{case['layer']}: last is not high on exactly the final weight of each command"
    assert report["passed"], f"{case['layer']}: {report}"


async def setup(dut) -> None:
    Clock(dut.clk, 10, unit="ns").start()
    await reset(dut)


@cocotb.test()
async def decode_layer(dut):
    """The whole tensor, input stalls (words offered with probability 0.8) and output backpressure, twice."""
    case, exp_w, exp_f, code = load_case()
    rng = random.Random(case["seed"])
    await setup(dut)
    runs = [Run(cmd, code) for cmd in case["whole"] * 2]
    await run_commands(dut, runs, rng, case.get("in_prob", 0.8), case.get("ready_prob", 0.7),
                       case.get("stall_prob", 0.01), max_cycles=100 * case["n"] + 1000)
    await ClockCycles(dut.clk, 3)
    assert bit(dut.busy) == 0, "decoder still busy after the last weight"
    finish(case, compare(case, exp_w, exp_f, runs), "decode_layer")


@cocotb.test()
async def throughput(dut):
    """Input always offered, ready held high: N weights in N + c cycles, one beat per clock."""
    case, exp_w, exp_f, code = load_case()
    await setup(dut)
    runs = [Run(case["whole"][0], code)]
    await run_commands(dut, runs, random.Random(0), 1.0, 1.0, 0.0, max_cycles=2 * case["n"] + 100)
    report = compare(case, exp_w, exp_f, runs)
    beats = runs[0].beat_cycles
    n = case["n"]
    cycles = beats[-1] if beats else None
    report.update(cycles=cycles, latency=(cycles - n) if cycles else None,
                  bubbles=int(np.count_nonzero(np.diff(beats) != 1)) if beats else None)
    report["passed"] = bool(report["passed"] and report["bubbles"] == 0)
    finish(case, report, "throughput")


@cocotb.test()
async def random_access(dut):
    """Every block start (1-2 blocks each, shuffled, back to back): skip bits and word ranges from the offsets."""
    case, exp_w, exp_f, code = load_case()
    rng = random.Random(case["seed"] + 1)
    await setup(dut)
    runs = [Run(cmd, code) for cmd in case["blocks"]]
    await run_commands(dut, runs, rng, 0.8, 0.7, 0.01, max_cycles=100 * case["n"] + 1000)
    report = compare(case, exp_w, exp_f, runs)
    report["starts"] = sorted({r.cmd["first"] for r in runs})
    finish(case, report, "random_access")
