"""The estimate follows the code: render a kernel, run the rule checker on its C++, and take every loop's II
and depth, and so every layer's cycles, from what the checker finds (not from the cycle model)."""
from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from pycompress.core.errors import PycompressError
from .check.rules import CheckReport, check_source
from pycompress.hw.plan.cost_hls import HLS, HlsCosts, mux_luts
from pycompress.hw.plan.estimate import KernelEstimate


def check_values(values: dict) -> CheckReport:
    """Render the synthesised sources of `values` into a temporary folder and check them."""
    from .writer import render_firmware

    with tempfile.TemporaryDirectory(prefix="pyc_check_") as tmp:
        for rel, text in render_firmware(values).items():
            path = Path(tmp) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return check_source(Path(tmp) / f"firmware/{values['top']}.cpp", values["top"])


def operator_costs(loop, c: HlsCosts = HLS) -> tuple[int, int, int]:
    """(DSP48E1, LUT, FF) of the operators the checker found in one pipelined loop: each operator kind shared by
    II iterations (a loop at II k needs 1/k of the cores), plus the multiplexers of reads whose bank is chosen at
    run time and the loop's own control."""
    dsp = lut = 0
    ff = c.lut_ff["loop"][1]
    for op, count in loop.ops.items():
        d, l, f = c.op_costs.get(op, (0, 0, 0))
        cores = -(-count // max(loop.ii, 1))
        dsp, lut, ff = dsp + cores * d, lut + cores * l, ff + cores * f
    lut += sum(mux_luts(bits, ways) for _, ways, bits in loop.muxes) + c.lut_ff["loop"][0]
    return dsp, lut, ff


def checked_estimate(est: KernelEstimate, values: dict, report: CheckReport) -> KernelEstimate:
    """`est` with each layer's II, depth and cycles, and the input/output loops, replaced by the checker's."""
    by_fn = {l["layer"]: l["fn"] for l in values["layers"]}
    layers = []
    for le in est.layers:
        fn = by_fn[le.name]
        m = report.modules.get(fn)
        if m is None:  # fused ReLUs and flatten have no function of their own
            layers.append(le)
            continue
        loops = m.loops
        if len(loops) != 1:
            raise PycompressError(f"internal error: layer {le.name} has {len(loops)} pipelined loops")
        lp = loops[0]
        dsp, lut, ff = operator_costs(lp)
        layers.append(replace(le, trip_counts=lp.trips, ii=lp.ii, pipeline_depth=lp.depth, cycles=m.latency,
                              dsp=dsp, lut=le.memory_lut + lut, ff=ff))
    io = tuple(next(l.cycles for l in report.loops if l.label == label) for label in ("read_input", "write_output"))
    return replace(est, layers=tuple(layers), io=io)
