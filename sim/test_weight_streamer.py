"""cocotb testbench of rtl/weight_streamer.sv (run by sim/harness.py, one layer per simulator process).

The layer's tables are loaded from `$readmemh` images named by plusargs; the
case file ($PYCOMPRESS_CASE, written by the harness) gives the weight count,
the expected stream (the Python codec's decode, see refmodel.py) and the
options. Outputs are sampled on the falling edge, where every DUT output is a
settled register: a beat with valid and ready high there transfers on the next
rising edge. Every test writes a JSON report (weights checked, first mismatch)
before it asserts.
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

LATENCY = 5  # rising edges from the one that samples `start` to the first transfer, with ready high


def load_case() -> tuple[dict, np.ndarray, np.ndarray]:
    with open(os.environ["PYCOMPRESS_CASE"]) as f:
        case = json.load(f)
    exp = np.load(case["expected"])
    return case, exp["weight"].astype(np.uint64), exp["fp32"].astype(np.uint64)


async def reset(dut, cycles: int = 3) -> None:
    await axis_tb.reset(dut, (dut.start, dut.m_ready), cycles)


async def start_clock_and_reset(dut, n: int) -> None:
    Clock(dut.clk, 10, unit="ns").start()
    dut.n_weights.value = n
    await reset(dut)


class Stream:
    """Random backpressure: ready drops with probability 1 - ready_prob, plus stalls of 1..20 cycles."""

    def __init__(self, dut, rng: random.Random, ready_prob: float = 1.0, stall_prob: float = 0.0):
        self.dut = dut
        self._ready = Gate(rng, ready_prob, stall_prob)
        self.weight: list[int] = []
        self.fp32: list[int] = []
        self.last: list[int] = []
        self.beat_cycles: list[int] = []
        self.cycle = 0

    async def collect(self, count: int, max_cycles: int, start: bool = True) -> None:
        dut = self.dut
        target = len(self.weight) + count
        edges = 0
        if start:
            await FallingEdge(dut.clk)
            dut.start.value = 1
        ready = self._ready()
        dut.m_ready.value = ready
        while len(self.weight) < target:
            await FallingEdge(dut.clk)  # the rising edge before this one sampled start/ready
            edges += 1
            dut.start.value = 0
            if edges > max_cycles:
                raise AssertionError(f"stream stalled: {len(self.weight)} of {target} beats after {edges} cycles")
            # outputs are settled registers now; a beat with valid & ready transfers on the next rising edge
            ready = self._ready()
            dut.m_ready.value = ready
            if ready and bit(dut.m_valid):
                self.weight.append(int(dut.m_weight.value.to_unsigned()))
                self.fp32.append(int(dut.m_fp32.value.to_unsigned()))
                self.last.append(bit(dut.m_last))
                self.beat_cycles.append(edges + 1)  # rising edges since the one that sampled start
        await FallingEdge(dut.clk)
        dut.m_ready.value = 0


def compare(case: dict, exp_w: np.ndarray, exp_f: np.ndarray, s: Stream) -> dict:
    got_w = np.asarray(s.weight, np.uint64)
    got_f = np.asarray(s.fp32, np.uint64)
    n = exp_w.size
    report = {"layer": case["layer"], "format": case["format"], "scheme": case["scheme"], "n": n,
              "checked": int(min(got_w.size, n)), "images": case["images"], "first_mismatch": None}
    bad = np.flatnonzero((got_w[:n] != exp_w[:got_w.size]) | (got_f[:n] != exp_f[:got_f.size])) if got_w.size else []
    if len(bad):
        i = int(bad[0])
        report["first_mismatch"] = {"index": i, "expected_weight": hex(int(exp_w[i])), "got_weight": hex(int(got_w[i])),
                                    "expected_fp32": hex(int(exp_f[i])), "got_fp32": hex(int(got_f[i]))}
    report["mismatches"] = int(len(bad))
    last_ok = got_w.size == n and s.last == [0] * (n - 1) + [1]
    report["last_ok"] = bool(last_ok)
    report["passed"] = bool(got_w.size == n and not len(bad) and last_ok)
    return report


def save(case: dict, report: dict, test: str) -> None:
    report["test"] = test
    with open(os.path.join(case["report_dir"], f"report-{test}.json"), "w") as f:
        json.dump(report, f, indent=1)


def finish(case: dict, report: dict, test: str) -> None:
    save(case, report, test)
    m = report.get("first_mismatch")
    assert report["checked"] == report["n"], f"{case['layer']}: {report['checked']} of {report['n']} weights came out"
    assert m is None, (f"{case['layer']}: {report['mismatches']} weights differ; first at flat index {m['index']}: "
                       f"expected {m['expected_weight']} (fp32 {m['expected_fp32']}), got {m['got_weight']} (fp32 {m['got_fp32']})")
    assert report["last_ok"], f"{case['layer']}: last is not high on exactly the final weight"
    assert report["passed"], f"{case['layer']}: {report}"


@cocotb.test()
async def stream_layer(dut):
    """Every weight of the layer, under random backpressure and stalls, `repeats` times with idle gaps."""
    case, exp_w, exp_f = load_case()
    n = case["n"]
    rng = random.Random(case.get("seed", 1))
    await start_clock_and_reset(dut, n)
    report = None
    for rep in range(int(case.get("repeats", 1))):
        s = Stream(dut, rng, case.get("ready_prob", 0.7), case.get("stall_prob", 0.01))
        await s.collect(n, max_cycles=40 * n + 1000)
        rep_report = compare(case, exp_w, exp_f, s)
        if report is None or not rep_report["passed"]:
            report = rep_report
        if not rep_report["passed"]:
            break
        await ClockCycles(dut.clk, rng.randint(1, 30))  # idle between streams
        assert bit(dut.busy) == 0 and bit(dut.m_valid) == 0, "streamer still busy after the last weight"
    report["repeats"] = int(case.get("repeats", 1))
    finish(case, report, "stream_layer")


@cocotb.test()
async def throughput(dut):
    """Ready held high: N weights in N + LATENCY cycles, one beat per clock, no bubbles."""
    case, exp_w, exp_f = load_case()
    n = case["n"]
    await start_clock_and_reset(dut, n)
    s = Stream(dut, random.Random(0), 1.0, 0.0)
    await s.collect(n, max_cycles=n + 100)
    report = compare(case, exp_w, exp_f, s)
    cycles = s.beat_cycles[-1] if s.beat_cycles else None
    report.update(cycles=cycles, latency=(cycles - n) if cycles else None, expected_latency=LATENCY,
                  bubbles=int(np.count_nonzero(np.diff(s.beat_cycles) != 1)) if s.beat_cycles else None)
    report["passed"] = bool(report["passed"] and report["bubbles"] == 0 and cycles == n + LATENCY)
    save(case, report, "throughput")
    assert report["bubbles"] == 0, f"{report['bubbles']} bubbles in the stream"
    assert cycles == n + LATENCY, f"{n} weights took {cycles} cycles, expected {n} + {LATENCY}"
    finish(case, report, "throughput")


@cocotb.test()
async def reset_mid_stream(dut):
    """Reset after part of the layer: the stream stops cleanly, then a new start streams it all again."""
    case, exp_w, exp_f = load_case()
    n = case["n"]
    rng = random.Random(case.get("seed", 1))
    await start_clock_and_reset(dut, n)
    part = Stream(dut, rng, 0.6, 0.0)
    await part.collect(max(1, n // 3), max_cycles=40 * n + 1000)
    await reset(dut, cycles=2)
    for _ in range(10):  # nothing may come out of a reset streamer until it is started
        await FallingEdge(dut.clk)
        assert bit(dut.m_valid) == 0 and bit(dut.busy) == 0, "output or busy after reset without start"
    s = Stream(dut, rng, 0.7, 0.01)
    await s.collect(n, max_cycles=40 * n + 1000)
    report = compare(case, exp_w, exp_f, s)
    report["reset_after"] = len(part.weight)
    finish(case, report, "reset_mid_stream")
