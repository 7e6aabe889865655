"""cocotb testbench of rtl/huffman_streamer.sv: every layer of a huffman container, through the
`huffman_weights` top that `pycompress rtl` writes (one streamer per layer, images by $readmemh).

Run by sim/huffman_streamer.py. The case file ($PYCOMPRESS_CASE) lists the layers (identifier,
weights, blocks, expected raw bits from the Python decode). Per layer: the whole layer twice with
random output backpressure and stalls, every block start (1-2 blocks, shuffled) with backpressure,
and the whole layer with ready held high, where N weights must take N + c cycles with no bubble.
Outputs are sampled at the falling edge (all registers settled); a beat moves at the next rising
edge when valid and ready are both high. The test writes its JSON report before it asserts.
"""
from __future__ import annotations

import json
import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from axis_tb import Gate, bit, reset


class Port:
    """One layer's signals on the top."""

    def __init__(self, dut, ident: str):
        self.start, self.first_block, self.n_blocks = (getattr(dut, f"{ident}_{s}") for s in ("start", "first_block", "n_blocks"))
        self.busy, self.valid, self.ready = (getattr(dut, f"{ident}_{s}") for s in ("busy", "valid", "ready"))
        self.weight, self.fp32, self.last = (getattr(dut, f"{ident}_{s}") for s in ("weight", "fp32", "last"))


async def command(dut, p: Port, first_block: int, n_blocks: int, n: int, rng: random.Random, ready_prob: float,
                  stall_prob: float, max_cycles: int) -> tuple[list[int], list[int], list[int], list[int]]:
    """Issue one start and collect n beats: (weights, fp32, last flags, cycle of each beat after start)."""
    await FallingEdge(dut.clk)
    while bit(p.busy):
        await FallingEdge(dut.clk)
    p.first_block.value = first_block
    p.n_blocks.value = n_blocks
    p.start.value = 1
    weights, fp32, last, cycles = [], [], [], []
    edges, gate = 0, Gate(rng, ready_prob, stall_prob)
    while len(weights) < n:
        ready = gate()
        p.ready.value = ready
        if ready and bit(p.valid):
            weights.append(int(p.weight.value.to_unsigned()))
            fp32.append(int(p.fp32.value.to_unsigned()))
            last.append(bit(p.last))
            cycles.append(edges + 1)  # rising edges since the one that sampled start
        await FallingEdge(dut.clk)
        edges += 1
        p.start.value = 0
        if edges > max_cycles:
            raise AssertionError(f"streamer stalled: {len(weights)} of {n} weights after {edges} cycles")
    p.ready.value = 0
    return weights, fp32, last, cycles


@cocotb.test()
async def stream_layers(dut):
    with open(os.environ["PYCOMPRESS_CASE"]) as f:
        case = json.load(f)
    rng = random.Random(case["seed"])
    Clock(dut.clk, 10, unit="ns").start()
    ports = {l["ident"]: Port(dut, l["ident"]) for l in case["layers"]}
    await reset(dut, [s for p in ports.values() for s in (p.start, p.ready, p.first_block, p.n_blocks)])
    layers = []
    for l in case["layers"]:
        exp = np.load(l["expected"])
        want_w, want_f = exp["weight"].astype(np.uint64), exp["fp32"].astype(np.uint64)
        n, block, nb = l["n"], l["block"], l["num_blocks"]
        p = ports[l["ident"]]
        rep = {"layer": l["layer"], "n": n, "checked": 0, "mismatches": 0, "first_mismatch": None, "last_ok": True}
        cmds = [(0, nb, 0.7, 0.01)] * 2
        for b in rng.sample(range(nb), nb):
            cmds.append((b, rng.randint(1, 2), 0.7, 0.01))
        cmds.append((0, nb, 1.0, 0.0))  # throughput: ready held high
        for b0, count, ready_prob, stall_prob in cmds:
            lo, hi = b0 * block, min(n, (b0 + count) * block)
            w, f32, last, cyc = await command(dut, p, b0, count, hi - lo, rng, ready_prob, stall_prob, 100 * n + 1000)
            got_w, got_f = np.asarray(w, np.uint64), np.asarray(f32, np.uint64)
            bad = np.flatnonzero((got_w != want_w[lo:hi]) | (got_f != want_f[lo:hi]))
            rep["checked"] += len(w)
            rep["mismatches"] += int(bad.size)
            if bad.size and rep["first_mismatch"] is None:
                i = int(bad[0])
                rep["first_mismatch"] = {"index": lo + i, "expected": hex(int(want_w[lo + i])), "got": hex(int(got_w[i]))}
            rep["last_ok"] &= last == [0] * (hi - lo - 1) + [1]
            if ready_prob >= 1.0:
                rep.update(cycles=cyc[-1], latency=cyc[-1] - n, bubbles=int(np.count_nonzero(np.diff(cyc) != 1)))
        rep["passed"] = bool(not rep["mismatches"] and rep["last_ok"] and rep["bubbles"] == 0)
        layers.append(rep)
    report = {"test": "stream_layers", "layers": layers, "weights": sum(r["checked"] for r in layers),
              "passed": all(r["passed"] for r in layers)}
    with open(os.path.join(case["report_dir"], "report-stream_layers.json"), "w") as f:
        json.dump(report, f, indent=1)
    for r in layers:
        assert r["first_mismatch"] is None, f"{r['layer']}: {r['mismatches']} weights differ; first {r['first_mismatch']}"
        assert r["last_ok"], f"{r['layer']}: last is not high on exactly the final weight of each command"
        assert r["bubbles"] == 0, f"{r['layer']}: {r['bubbles']} bubbles with ready held high"
