"""HLS kernel v3 estimates: interval, latency, DSP, BRAM18K of the compressed kernel and its baselines, per format.

Run: .venv/bin/python benchmarks/bench_hls_estimates.py  (shipped default LeNet; the committed ESART model; the
shipped LeNet with half of every weight tensor pruned to zero, where the offset exponent needs a wide field)
Every figure is an estimate (`pycompress estimate`: each loop's II and depth from the rule checker on the
generated C++; resources from the memories and operators it writes), not synthesis. Each compressed kernel is
compared with the raw baseline in the same storage format at the same lanes (what exponent sharing saves), with
the offset-exponent baseline (each exponent minus the layer's smallest, at the width of its range) and with raw
FP32 (what the format saves besides). The kernel is the one `pycompress generate` writes by default: DATAFLOW
for a chain of layers, lanes allocated for the interval between images, then the latency, within the ZedBoard.
Targets (issue 21): BF16 interval <= 8,000 cycles, latency <= 25,000, DSP <= 220, BRAM18K <= 140, weight
BRAM18K <= 0.80x raw BF16.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pycompress.core import container  # noqa: E402
from pycompress.compress import CompressConfig, compress_state_dict  # noqa: E402
from pycompress.cli.demo import default_model  # noqa: E402
from pycompress.hw.hls.estimates import estimate_report  # noqa: E402

ESART = REPO / "reports" / "lenet" / "models" / "esart-halfpoint.pcz"


def pruned_lenet(sd, share: float = 0.5):
    """Every weight tensor with its `share` smallest magnitudes set to zero (exact zeros: exponent field 0)."""
    from pycompress.frontends.graph_builtin import infer_graph

    out = {}
    for k, v in sd.items():
        t = v.clone()
        if t.dim() >= 2:
            t[t.abs() <= t.abs().flatten().kthvalue(int(share * t.numel())).values] = 0.0
        out[k] = t
    cm = compress_state_dict(out, CompressConfig("bf16"))
    return replace(cm, graph=infer_graph(out, confirm=True), info={})


def main() -> int:
    sd = default_model()
    models = {f"LeNet {f.upper()} lossless": compress_state_dict(sd, CompressConfig(f)) for f in ("fp32", "bf16", "fp16")}
    models["LeNet ESART m'=0 (BF16)"] = container.load(ESART)
    models["LeNet BF16, 50% pruned"] = pruned_lenet(sd)
    print("estimates (not synthesis): the default (DATAFLOW) kernel, ZedBoard budget, lanes allocated on the compressed "
          "kernel and reused by the baselines; BRAM18K: weights / activations (ping-pong pairs)")
    print(f"{'model':26} {'kernel':12} {'interval':>8} {'latency':>8} {'DSP':>4} {'BRAM W':>6} {'BRAM A':>6} "
          f"{'weight bits':>11} {'W vs raw':>8} {'lanes (PxQ)':>28} | {'DDR bytes':>9} {'DDR interval':>12}")
    for name, cm in models.items():
        rep = estimate_report(cm)
        fmt = rep["format"].upper()
        base = rep["baseline"]
        rows = (("float32_baseline", "raw FP32"), ("baseline", f"raw {fmt}"), ("offset_baseline", f"offset {fmt}"),
                ("compressed", f"shared {fmt}"))
        for key, label in rows:
            if key == "float32_baseline" and fmt == "FP32":
                continue  # the same kernel as the raw baseline
            e = rep[key]
            d, df = e["ddr"], e["dataflow"]
            ratio = f"{e['weight_bram18k'] / base['weight_bram18k']:.3f}" if base["weight_bram18k"] else "-"
            lanes = ",".join(f"{p}x{e['pixel_lanes'][n]}" for n, p in e["lanes"].items())
            print(f"{name:26} {label:12} {df['interval']:8,d} {df['latency']:8,d} {e['dsp']:4d} {e['weight_bram18k']:6d} "
                  f"{df['activation_bram18k']:6d} {e['weight_bits']:11,d} {ratio:>8} {lanes:>28} | "
                  f"{d['bytes_per_image']:9,d} {df['ddr_interval']:12,d}", flush=True)
        print(f"{'':26} " + "; ".join(rep["offset_comparison"]))
        bad = [v for v in rep["checker"].values() if v["violations"]]
        print(f"{'':26} rule checker: {'no violation' if not bad else bad}")
    p = rep["paper_table7"]
    for k in ("baseline", "compressed"):
        print(f"{'paper Table 7 (measured)':26} {k:12} {p[k]['cycles']:>8,} {'':8} {p[k]['dsp']:4d} {p[k]['bram18k']:6d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
