"""Estimates of the generated kernel without Vivado: cycles, BRAM18K, DSP48E1, rough LUT/FF.

Computed by the plan's HLS cost model (pycompress.hw.plan: cost_hls, estimate)
at the lanes the generator uses (the plan's allocator), for
the compressed kernel and two baselines at the same lanes: `baseline`, the raw
weight bits in the same storage format (what exponent sharing saves), and
`float32_baseline`, float32 weights (what the format saves besides). Every
figure is an estimate for comparison with the paper's Table 7, not synthesis.
"""
from __future__ import annotations

from pycompress.core.container import CompressedModel
from pycompress.hw.plan import hls_budget, hls_kernel_plan, hls_lanes, kernel_model
from pycompress.hw.plan.cost_hls import HLS
from pycompress.hw.plan.estimate import KernelEstimate, estimate_plan
from pycompress.hw.plan.memory import BRAM_MIN_BITS

PAPER_TABLE7 = {"baseline": {"cycles": 6_090_756, "bram18k": 29, "dsp": 25, "ff": 6_447, "lut": 5_693, "power_w": 0.249},
                "compressed": {"cycles": 5_336_520, "bram18k": 28, "dsp": 28, "ff": 6_277, "lut": 5_866, "power_w": 0.24}}
VARIANTS = (("compressed", "compressed"), ("baseline", "raw"), ("float32_baseline", "float"))


def estimate(cm: CompressedModel, parallel: dict[str, int] | None = None, board: str = "zedboard") -> dict[str, KernelEstimate]:
    """Estimates of the compressed kernel and of the raw same-format and float32 baselines, at the same lanes."""
    km = kernel_model(cm)
    lanes = hls_lanes(km, board, parallel)
    return {key: estimate_plan(hls_kernel_plan(km, kernel), lanes) for key, kernel in VARIANTS}


def estimate_report(cm: CompressedModel, parallel: dict[str, int] | None = None, board: str = "zedboard") -> dict:
    est = estimate(cm, parallel, board)
    c, b = est["compressed"], est["baseline"]
    budget = hls_budget(board)
    return {"format": cm.format, "method": "estimate", **{k: v.to_dict() for k, v in est.items()},
            "ratios": {"bram18k_vs_same_format": round(c.bram18k / max(b.bram18k, 1), 3),
                       "weight_bram18k_vs_same_format": round(c.weight_bram18k / max(b.weight_bram18k, 1), 3),
                       "weight_bits_vs_same_format": round(c.weight_bits / max(b.weight_bits, 1), 3),
                       "ddr_bytes_vs_same_format": round(c.ddr_bytes / max(b.ddr_bytes, 1), 3)},
            "budget": {"board": board, "dsp": budget.dsp, "bram18k": budget.bram18k, "lut": budget.lut, "ff": budget.ff},
            "paper_table7": PAPER_TABLE7,
            "model": {"constants": {"fmul_latency": HLS.fmul_latency, "fadd_latency": HLS.fadd_latency,
                                    "bram_read_latency": HLS.bram_read_latency, "accumulator_chain": HLS.acc_chain,
                                    "loop_overhead": HLS.loop_overhead, "bram_min_bits": BRAM_MIN_BITS,
                                    "dsp_fmul": HLS.dsp_fmul, "dsp_fadd": HLS.dsp_fadd,
                                    "bram_share": HLS.shares.bram18k, "logic_share": HLS.shares.lut,
                                    "min_gain": HLS.objective.min_gain}}}


def format_report(report: dict) -> str:
    """The per-layer table of the compressed kernel, then the totals beside the paper's Table 7."""
    lines = [f"estimates (not synthesis), {report['format']} storage, lanes allocated for {report['budget']['board']}:",
             f"{'layer':10} {'op':10} {'flattened trips':18} {'P':>3} {'II':>3} {'depth':>5} {'cycles (est.)':>13} "
             f"{'weight bits':>11} {'BRAM18K':>7} {'DSP':>4}"]
    for l in report["compressed"]["layers"]:
        trips = "x".join(map(str, l["trip_counts"])) or "-"
        lines.append(f"{l['name']:10} {l['op']:10} {trips:18} {l['lanes']:3d} {l['ii']:3d} {l['pipeline_depth']:5d} "
                     f"{l['cycles']:13,d} {l['weight_bits']:11,d} {l['bram18k']:7d} {l['dsp']:4d}")
    p, c, b, f = report["paper_table7"], report["compressed"], report["baseline"], report["float32_baseline"]
    fmt = report["format"].upper()
    lines += ["", f"{'(all ours are estimates)':28} {'raw ' + fmt + ' base':>14} {'shared ' + fmt:>14} {'raw FP32 base':>14} "
                  f"{'paper base':>11} {'paper compr.':>12}"]
    for key, label in (("cycles", "cycles per image"), ("bram18k", "BRAM18K (whole kernel)"),
                       ("weight_bram18k", "BRAM18K (weights)"), ("dsp", "DSP48E1"), ("lut", "LUT (rough)"),
                       ("ff", "FF (rough)"), ("weight_bits", "weight bits")):
        pb = f"{p['baseline'][key]:,}" if key in p["baseline"] else "-"
        pc = f"{p['compressed'][key]:,}" if key in p["compressed"] else "-"
        lines.append(f"{label:28} {b[key]:14,d} {c[key]:14,d} {f[key]:14,d} {pb:>11} {pc:>12}")
    lines.append("with --weights ddr (weight streams read from DDR as 64-bit beats; estimates):")
    for key, label in (("bytes_per_image", "DDR bytes per image"), ("cycles", "cycles per image"),
                       ("bram18k", "BRAM18K left on chip")):
        lines.append(f"{'  ' + label:28} {b['ddr'][key]:14,d} {c['ddr'][key]:14,d} {f['ddr'][key]:14,d}")
    if c.get("dataflow"):
        lines.append("with --dataflow (layers as concurrent processes; estimates):")
        for key, label in (("interval", "interval between images"), ("latency", "latency per image"),
                           ("ddr_interval", "  interval, --weights ddr"), ("bram18k", "BRAM18K (ping-pong buffers)")):
            lines.append(f"{'  ' + label:28} {b['dataflow'][key]:14,d} {c['dataflow'][key]:14,d} {f['dataflow'][key]:14,d}")
    r = report["ratios"]
    lines.append(f"shared / raw {fmt} (estimate): BRAM18K {r['bram18k_vs_same_format']:.3f} whole kernel, "
                 f"{r['weight_bram18k_vs_same_format']:.3f} weights; weight bits {r['weight_bits_vs_same_format']:.3f}; "
                 f"DDR bytes per image {r['ddr_bytes_vs_same_format']:.3f}")
    if fmt != "FP32":
        lines.append("raw FP32 vs raw " + fmt + " is the storage format's saving, not exponent sharing's")
    return "\n".join(lines)
