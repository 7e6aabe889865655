"""HLS kernel v2 estimates: cycles, BRAM18K, DSP of the compressed kernel and its baselines, per storage format.

Run: .venv/bin/python benchmarks/bench_hls_estimates.py  (shipped default LeNet; the committed ESART model)
Every figure is an estimate (pycompress/hw/hls/estimates.py), not synthesis. Each compressed kernel
is compared with the raw baseline in the same storage format at the same lanes (what exponent
sharing saves) and with raw FP32 (what the format saves besides). Targets (issue 12): BF16 cycles
<= 100,000 with DSP <= 220 and BRAM18K <= 140; shared BRAM18K <= 0.85x raw BF16 (lossless) and
<= 0.5x for the ESART model. The right-hand columns are the same kernel with `--weights ddr`:
bytes read from DDR per image (64-bit beats of the same packed streams), the cycles when the
burst reader (at most one beat per cycle) is slower than the MAC loop, and the BRAM18K left on chip;
the last column is the interval between images of the same kernel with `--dataflow` (slowest layer).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pycompress.core import container  # noqa: E402
from pycompress.compress import CompressConfig, compress_state_dict  # noqa: E402
from pycompress.cli.demo import default_model  # noqa: E402
from pycompress.hw.hls.estimates import estimate_report  # noqa: E402

ESART = REPO / "reports" / "lenet" / "models" / "esart-halfpoint.pcz"


def main() -> int:
    sd = default_model()
    models = {f"LeNet {f.upper()} lossless": compress_state_dict(sd, CompressConfig(f)) for f in ("fp32", "bf16", "fp16")}
    models["LeNet ESART m'=0 (BF16)"] = container.load(ESART)
    print("estimates (not synthesis), ZedBoard budget, lanes allocated on the compressed kernel and reused by the baselines")
    print(f"{'model':26} {'kernel':16} {'cycles':>8} {'DSP':>4} {'BRAM18K':>7} {'weights':>7} {'weight bits':>11} "
          f"{'vs same-format BRAM':>19} {'lanes (P)':>20} | {'DDR bytes/img':>13} {'vs same-format':>14} "
          f"{'DDR cycles':>10} {'BRAM18K on chip':>15} | {'dataflow interval':>17}")
    for name, cm in models.items():
        rep = estimate_report(cm)
        fmt = rep["format"].upper()
        base = rep["baseline"]
        for key, label in (("float32_baseline", "raw FP32"), ("baseline", f"raw {fmt}"), ("compressed", f"shared {fmt}")):
            if key == "float32_baseline" and fmt == "FP32":
                continue  # the same kernel as the raw baseline
            e = rep[key]
            ratio = f"{e['bram18k'] / base['bram18k']:.3f}" if base["bram18k"] else "-"
            lanes = ",".join(str(v) for v in e["lanes"].values())
            d = e["ddr"]
            print(f"{name:26} {label:16} {e['cycles']:8,d} {e['dsp']:4d} {e['bram18k']:7d} {e['weight_bram18k']:7d} "
                  f"{e['weight_bits']:11,d} {ratio:>19} {lanes:>20} | {d['bytes_per_image']:13,d} "
                  f"{d['bytes_per_image'] / base['ddr']['bytes_per_image']:14.3f} {d['cycles']:10,d} {d['bram18k']:15d} | "
                  f"{e['dataflow']['interval']:17,d}", flush=True)
    p = rep["paper_table7"]
    print(f"{'paper Table 7 (measured)':26} {'baseline':16} {p['baseline']['cycles']:8,d} {p['baseline']['dsp']:4d} "
          f"{p['baseline']['bram18k']:7d}")
    print(f"{'paper Table 7 (measured)':26} {'compressed':16} {p['compressed']['cycles']:8,d} {p['compressed']['dsp']:4d} "
          f"{p['compressed']['bram18k']:7d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
