"""Estimates of the generated kernel without Vivado: cycles, BRAM18K, DSP48E1, rough LUT/FF.

Every variant is rendered and its C++ checked by the rule checker (`check/`), and each loop's II and
depth, so each layer's cycles, come from the checker; resources come from the memories and operators
the templates write (plan.py, resources.py, lanewords.py), at the lanes the generator uses
(allocate.py). Variants at the same lanes: the compressed kernel; `baseline`, the raw weight bits in
the same storage format (what exponent sharing saves); `offset_baseline`, each exponent minus its
layer's smallest at the width of the layer's range (what a cheaper trick than exponent sharing
already saves); `float32_baseline`, float32 weights (what the format saves besides). Every figure is
an estimate for comparison with the paper's Table 7, not synthesis.
"""
from __future__ import annotations

from pycompress.core.container import CompressedModel
from pycompress.hw.plan import hls_budget, hls_lanes, kernel_model
from pycompress.hw.plan.cost_hls import HLS
from pycompress.hw.plan.estimate import KernelEstimate
from pycompress.hw.plan.memory import BRAM_MIN_BITS
from .checked import check_values, checked_estimate

PAPER_TABLE7 = {"baseline": {"cycles": 6_090_756, "bram18k": 29, "dsp": 25, "ff": 6_447, "lut": 5_693, "power_w": 0.249},
                "compressed": {"cycles": 5_336_520, "bram18k": 28, "dsp": 28, "ff": 6_277, "lut": 5_866, "power_w": 0.24}}
VARIANTS = (("compressed", "compressed"), ("baseline", "raw"), ("offset_baseline", "offset"), ("float32_baseline", "float"))


def estimate(cm: CompressedModel, parallel: dict | None = None, board: str = "zedboard",
             dataflow: bool | None = None, checks: dict | None = None) -> dict[str, KernelEstimate]:
    """Estimates of the compressed kernel and the baselines at the same lanes, each loop's II and depth taken
    from the rule checker on the variant's generated C++ (`checks`, when given, receives the reports).
    `dataflow` None: as `generate` does by default (DATAFLOW for a chain of layers)."""
    from .context import is_chain, template_values

    km = kernel_model(cm)
    df = is_chain(km.graph) if dataflow is None else dataflow
    lanes = hls_lanes(km, board, parallel, dataflow=df)
    out = {}
    for key, kernel in VARIANTS:
        values = template_values(km, board=board, kernel=kernel, dataflow=df, lanes=lanes)
        report = check_values(values)
        if checks is not None:
            checks[key] = report
        out[key] = checked_estimate(values["plan"].estimate, values, report)
    return out


def _offset_note(c: dict, o: dict) -> list[str]:
    """Per MAC layer: does exponent sharing store fewer bits than the offset exponent?"""
    better, tie, worse = [], [], []
    for lc, lo in zip(c["layers"], o["layers"]):
        if not lc["weight_bits"]:
            continue
        (better if lc["weight_bits"] < lo["weight_bits"] else worse if lc["weight_bits"] > lo["weight_bits"] else tie).append(lc["name"])
    out = []
    if better:
        out.append(f"exponent sharing stores fewer weight bits than the offset exponent in {', '.join(better)}")
    if tie:
        out.append(f"the same bits as the offset exponent in {', '.join(tie)} (the exponent table and the offset need "
                   "as many bits per weight)")
    if worse:
        out.append(f"more bits than the offset exponent in {', '.join(worse)}")
    return out


def weight_format(cm: CompressedModel) -> str:
    """The format the kernel's weights are in (and the raw baseline's): a clustered model's codebook format,
    not the container's base format."""
    names = {t.fmt.name for t in cm.tensors.values() if hasattr(t, "fmt")}
    return names.pop() if len(names) == 1 else cm.format


def estimate_report(cm: CompressedModel, parallel: dict | None = None, board: str = "zedboard",
                    dataflow: bool | None = None) -> dict:
    checks: dict = {}
    est = estimate(cm, parallel, board, dataflow, checks)
    c, b, o = est["compressed"], est["baseline"], est["offset_baseline"]
    budget = hls_budget(board)
    out = {k: v.to_dict() for k, v in est.items()}
    return {"format": weight_format(cm), "method": "estimate (loops: II and depth from the rule checker on the generated C++)",
            "dataflow": c.chain if dataflow is None else dataflow, **out,
            "checker": {k: {"violations": [str(v) for v in r.violations], "loops": len(r.loops)} for k, r in checks.items()},
            "ratios": {"bram18k_vs_same_format": round(c.bram18k / max(b.bram18k, 1), 3),
                       "weight_bram18k_vs_same_format": round(c.weight_bram18k / max(b.weight_bram18k, 1), 3),
                       "weight_bram18k_vs_offset": round(c.weight_bram18k / max(o.weight_bram18k, 1), 3),
                       "weight_bits_vs_same_format": round(c.weight_bits / max(b.weight_bits, 1), 3),
                       "weight_bits_vs_offset": round(c.weight_bits / max(o.weight_bits, 1), 3),
                       "ddr_bytes_vs_same_format": round(c.ddr_bytes / max(b.ddr_bytes, 1), 3)},
            "offset_comparison": _offset_note(out["compressed"], out["offset_baseline"]),
            "budget": {"board": board, "dsp": budget.dsp, "bram18k": budget.bram18k, "lut": budget.lut, "ff": budget.ff},
            "paper_table7": PAPER_TABLE7,
            "model": {"constants": {"fmul_latency": HLS.fmul_latency, "fadd_latency": HLS.fadd_latency,
                                    "bram_read_latency": HLS.bram_read_latency, "loop_overhead": HLS.loop_overhead,
                                    "bram_min_bits": BRAM_MIN_BITS, "dsp_fmul": HLS.dsp_fmul, "dsp_fadd": HLS.dsp_fadd,
                                    "bram_share": HLS.shares.bram18k, "logic_share": HLS.shares.lut,
                                    "min_gain": HLS.objective.min_gain}}}


def format_report(report: dict) -> str:
    """The per-layer table of the compressed kernel, then the totals beside the baselines and the paper's Table 7."""
    mode = "dataflow" if report["dataflow"] else "sequential"
    lines = [f"estimates (not synthesis), {report['format']} storage, {mode} kernel, lanes allocated for "
             f"{report['budget']['board']}; every II and depth from the rule checker on the generated C++:",
             f"{'layer':10} {'op':10} {'loop trips':22} {'PxQ':>5} {'II':>3} {'depth':>5} {'cycles (est.)':>13} "
             f"{'weight bits':>11} {'BRAM18K':>7} {'DSP':>4}"]
    for l in report["compressed"]["layers"]:
        if l["fused"] or not l["trip_counts"]:
            continue
        trips = "x".join(map(str, l["trip_counts"]))
        pxq = f"{l['lanes']}x{l['pixel_lanes']}" if l["weight_bits"] else "-"
        lines.append(f"{l['name']:10} {l['op']:10} {trips:22} {pxq:>5} {l['ii']:3d} {l['pipeline_depth']:5d} "
                     f"{l['cycles']:13,d} {l['weight_bits']:11,d} {l['bram18k']:7d} {l['dsp']:4d}")
    p, c, b, o, f = (report[k] for k in ("paper_table7", "compressed", "baseline", "offset_baseline", "float32_baseline"))
    fmt = report["format"].upper()
    lines += ["", f"{'(all ours are estimates)':30} {'raw ' + fmt:>10} {'offset ' + fmt:>11} {'shared ' + fmt:>11} "
                  f"{'raw FP32':>10} {'paper base':>11} {'paper compr.':>12}"]
    rows = [("cycles", "latency (layers in turn)"), ("weight_bram18k", "BRAM18K, weights"),
            ("activation_bram18k", "BRAM18K, activations"), ("dsp", "DSP48E1"), ("lut", "LUT (rough)"),
            ("ff", "FF (rough)"), ("weight_bits", "weight bits")]
    for key, label in rows:
        pb = f"{p['baseline'][key]:,}" if key in p["baseline"] else "-"
        pc = f"{p['compressed'][key]:,}" if key in p["compressed"] else "-"
        lines.append(f"{label:30} {b[key]:10,d} {o[key]:11,d} {c[key]:11,d} {f[key]:10,d} {pb:>11} {pc:>12}")
    if c.get("dataflow"):
        lines.append("DATAFLOW (layers as concurrent processes, ping-pong buffers):")
        for key, label in (("interval", "interval between images"), ("latency", "latency per image"),
                           ("activation_bram18k", "BRAM18K, activations (x2)"), ("ddr_interval", "interval, --weights ddr")):
            lines.append(f"{'  ' + label:30} {b['dataflow'][key]:10,d} {o['dataflow'][key]:11,d} {c['dataflow'][key]:11,d} "
                         f"{f['dataflow'][key]:10,d}")
    lines.append("--weights ddr (each weight through its own AXI master, 64-bit beats):")
    for key, label in (("bytes_per_image", "DDR bytes per image"), ("bram18k", "BRAM18K left on chip")):
        lines.append(f"{'  ' + label:30} {b['ddr'][key]:10,d} {o['ddr'][key]:11,d} {c['ddr'][key]:11,d} {f['ddr'][key]:10,d}")
    r = report["ratios"]
    lines.append(f"shared / raw {fmt}: weight BRAM18K {r['weight_bram18k_vs_same_format']:.3f}, weight bits "
                 f"{r['weight_bits_vs_same_format']:.3f}, whole-kernel BRAM18K {r['bram18k_vs_same_format']:.3f}; "
                 f"shared / offset exponent: weight BRAM18K {r['weight_bram18k_vs_offset']:.3f}, bits "
                 f"{r['weight_bits_vs_offset']:.3f}")
    lines += report["offset_comparison"]
    bad = {k: v["violations"] for k, v in report["checker"].items() if v["violations"]}
    lines.append("rule checker: " + ("no violation in any variant" if not bad else
                                     "; ".join(f"{k}: {len(v)} violation(s), first: {v[0]}" for k, v in bad.items())))
    if fmt != "FP32":
        lines.append("raw FP32 vs raw " + fmt + " is the storage format's saving, not exponent sharing's")
    return "\n".join(lines)
