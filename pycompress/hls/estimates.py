"""Resource and latency estimates of the generated kernel without Vivado.

Cycles: every pipelined (innermost) loop at II=1 costs (trip - 1) + depth per
entry, plus LOOP_OVERHEAD per entry; `cycles_recurrence` repeats the count at
II = FADD latency, the bound a sequential float accumulator really allows.
BRAM18K: each table bound to BRAM is mapped with the best 7-series RAMB18
aspect ratio (16Kx1, 8Kx2, 4Kx4, 2Kx9, 1Kx18, 512x36); activation buffers are
float32 RAMs. DSP48E1: one fmul (3) + one fadd (2) per MAC layer, an fadd (2)
per average pool; the field decoders use none. Figures are estimates for
comparison with the paper's Table 7, not synthesis results.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..container import CompressedModel
from .context import BRAM_MIN_BITS, kernel_model, template_values

RAMB18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
FMUL_LATENCY, FADD_LATENCY, BRAM_READ_LATENCY = 4, 5, 2
DECODE_LATENCY = {"expshare": 1, "cluster": 1, "float": 0}  # exponent / codebook ROM read after the table read
WIDEN_LATENCY = {"fp16": 1, "bf16": 0, "fp32": 0}
LOOP_OVERHEAD = 2
DSP_FMUL, DSP_FADD = 3, 2
PAPER_TABLE7 = {"baseline": {"cycles": 6_090_756, "bram18k": 29, "dsp": 25, "ff": 6_447, "lut": 5_693, "power_w": 0.249},
                "compressed": {"cycles": 5_336_520, "bram18k": 28, "dsp": 28, "ff": 6_277, "lut": 5_866, "power_w": 0.24}}


def bram18k(width: int, depth: int) -> int:
    """RAMB18 count of a width x depth memory, best aspect ratio."""
    if width <= 0 or depth <= 0:
        return 0
    return min(math.ceil(width / w) * math.ceil(depth / d) for d, w in RAMB18_SHAPES)


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    op: str
    trip_counts: tuple[int, ...]  # loop nest, outermost first; the last loop is pipelined
    pipeline_depth: int
    cycles: int  # at II=1
    cycles_recurrence: int  # at II = FADD latency for accumulating loops
    table_bits: int
    bram18k: int  # weight tables bound to BRAM
    dsp: int


@dataclass(frozen=True)
class KernelEstimate:
    top: str
    layers: tuple[LayerEstimate, ...]
    io_cycles: int
    buffer_bram18k: int

    @property
    def cycles(self) -> int:
        return self.io_cycles + sum(l.cycles for l in self.layers)

    @property
    def cycles_recurrence(self) -> int:
        return self.io_cycles + sum(l.cycles_recurrence for l in self.layers)

    @property
    def bram18k(self) -> int:
        return self.buffer_bram18k + sum(l.bram18k for l in self.layers)

    @property
    def dsp(self) -> int:
        return sum(l.dsp for l in self.layers)

    @property
    def table_bits(self) -> int:
        return sum(l.table_bits for l in self.layers)

    def to_dict(self) -> dict:
        return {"top": self.top, "cycles": self.cycles, "cycles_recurrence": self.cycles_recurrence,
                "bram18k": self.bram18k, "buffer_bram18k": self.buffer_bram18k, "dsp": self.dsp,
                "table_bits": self.table_bits, "io_cycles": self.io_cycles,
                "layers": [{**asdict(l), "trip_counts": list(l.trip_counts)} for l in self.layers]}


def _param_memory(p: dict) -> tuple[int, int]:
    """(bits, BRAM18K) of one parameter's tables."""
    n = p["size"]
    if p["scheme"] == "expshare":
        widths, rom = (1, p["index_bits"], p["mantissa_bits"]), p["exp_depth"] * p["exponent_bits"]
    elif p["scheme"] == "cluster":
        widths, rom = (p["index_bits"],), p["k"] * p["format_bits"]
    else:
        widths, rom = (32,), 0
    bits = n * sum(widths) + rom
    brams = sum(bram18k(w, n) for w in widths) if p["big"] else 0
    return bits, brams


def _loop(outer: int, trip: int, depth: int, ii: int = 1) -> int:
    return outer * ((trip - 1) * ii + depth + LOOP_OVERHEAD)


def estimate_values(values: dict) -> KernelEstimate:
    params = {p["ident"]: p for p in values["params"]}
    out = []
    for l in values["layers"]:
        bits = brams = dsp = 0
        for role in ("weight", "bias"):
            if l.get(role):
                b, r = _param_memory(params[l[role]])
                bits, brams = bits + b, brams + r
        if l["op"] in ("conv2d", "linear"):
            w = params[l["weight"]]
            depth = BRAM_READ_LATENCY + DECODE_LATENCY[w["scheme"]] + WIDEN_LATENCY.get(w["format"], 0) + FMUL_LATENCY + FADD_LATENCY
            trips = ((l["oc"], l["oh"], l["ow"], l["ic"], l["kh"], l["kw"]) if l["op"] == "conv2d" else (l["out_size"], l["in_size"]))
            dsp = DSP_FMUL + DSP_FADD
        elif l["op"] in ("maxpool2d", "avgpool2d"):
            depth = BRAM_READ_LATENCY + (FADD_LATENCY if l["op"] == "avgpool2d" else 1)
            trips = (l["oc"], l["oh"], l["ow"], l["k"], l["k"])
            dsp = DSP_FADD if l["op"] == "avgpool2d" else 0
        elif l["op"] == "relu":
            depth, trips = BRAM_READ_LATENCY + 2, (1, l["in_size"])
        else:
            out.append(LayerEstimate(l["name"], l["op"], (), 0, 0, 0, 0, 0, 0))
            continue
        outer = math.prod(trips[:-1])
        accumulates = l["op"] in ("conv2d", "linear", "avgpool2d")
        out.append(LayerEstimate(l["name"], l["op"], tuple(int(t) for t in trips), depth, _loop(outer, trips[-1], depth),
                                 _loop(outer, trips[-1], depth, FADD_LATENCY if accumulates else 1), bits, brams, dsp))
    io = _loop(1, values["input_size"], BRAM_READ_LATENCY + 1) + _loop(1, values["output_size"], BRAM_READ_LATENCY + 1)
    buffers = sum(bram18k(32, b["size"]) for b in values["buffers"] if b["size"] * 32 > BRAM_MIN_BITS)
    return KernelEstimate(values["top"], tuple(out), io, buffers)


def estimate(cm: CompressedModel) -> dict[str, KernelEstimate]:
    """Estimates of the compressed kernel and of the uncompressed baseline kernel."""
    km = kernel_model(cm)
    return {"compressed": estimate_values(template_values(km, False)), "baseline": estimate_values(template_values(km, True))}


def estimate_report(cm: CompressedModel) -> dict:
    est = estimate(cm)
    return {"format": cm.format, **{k: v.to_dict() for k, v in est.items()}, "paper_table7": PAPER_TABLE7,
            "model": {"method": "estimate", "constants": {"fmul_latency": FMUL_LATENCY, "fadd_latency": FADD_LATENCY,
                      "bram_read_latency": BRAM_READ_LATENCY, "loop_overhead": LOOP_OVERHEAD,
                      "bram_min_bits": BRAM_MIN_BITS}}}


def format_report(report: dict) -> str:
    lines = [f"{'layer':10} {'op':10} {'trip counts':28} {'depth':>5} {'cycles@II=1':>12} {'cycles@II=5':>12} "
             f"{'table bits':>11} {'BRAM18K':>7} {'DSP':>4}"]
    for l in report["compressed"]["layers"]:
        trips = "x".join(map(str, l["trip_counts"])) or "-"
        lines.append(f"{l['name']:10} {l['op']:10} {trips:28} {l['pipeline_depth']:5d} {l['cycles']:12,d} "
                     f"{l['cycles_recurrence']:12,d} {l['table_bits']:11,d} {l['bram18k']:7d} {l['dsp']:4d}")
    p, c, b = report["paper_table7"], report["compressed"], report["baseline"]
    lines.append("")
    lines.append(f"{'':28} {'baseline (est.)':>16} {'compressed (est.)':>18} {'paper baseline':>15} {'paper compressed':>17}")
    for key, label in (("cycles", "cycles at II=1"), ("cycles_recurrence", "cycles at II=5 (fadd)"), ("bram18k", "BRAM18K"), ("dsp", "DSP48E1")):
        pb = f"{p['baseline'][key]:,}" if key in p["baseline"] else "-"
        pc = f"{p['compressed'][key]:,}" if key in p["compressed"] else "-"
        lines.append(f"{label:28} {b[key]:16,d} {c[key]:18,d} {pb:>15} {pc:>17}")
    lines.append(f"{'weight table bits':28} {b['table_bits']:16,d} {c['table_bits']:18,d}")
    return "\n".join(lines)
