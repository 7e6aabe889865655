"""HLS C simulation figures: g++ compile time, time to simulate the test split, bit-exactness and accuracy.

Run: .venv/bin/python benchmarks/bench_hls.py  (uses the shipped default LeNet; and the shipped digits CNN)
Target (issue 5): compiling and simulating 1,000 images under 2 minutes.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pycompress.compress import CompressConfig, compress, compress_state_dict  # noqa: E402
from pycompress.cli.demo import default_model  # noqa: E402
from pycompress.frontends.digits_cnn import DigitsCNN  # noqa: E402
from pycompress.frontends.shipped import default_digits_cnn  # noqa: E402
from pycompress.hw.hls.csim import run_csim  # noqa: E402
from pycompress.hw.hls.writer import generate  # noqa: E402


def main() -> int:
    sd = default_model()
    digits = DigitsCNN()
    digits.load_state_dict(default_digits_cnn())
    models = {f"lenet-{f}": compress_state_dict(sd, CompressConfig(f)) for f in ("fp32", "bf16", "fp16")}
    models.update({f"digits-{f}": compress(digits, CompressConfig(f)) for f in ("fp32", "bf16", "fp16")})
    print(f"{'model':14} {'kernel':9} {'compile s':>9} {'sim s':>7} {'inputs':>6} {'weights':>8} {'exact':>5} {'agree %':>8} {'acc kernel':>10} {'acc torch':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, cm in models.items():
            for baseline in (False, True):
                out = Path(tmp) / f"{name}-{baseline}"
                generate(cm, out, baseline=baseline, progress=False)
                r = run_csim(out, progress=False)
                exact = r.weights_bit_exact and r.outputs_bit_exact
                print(f"{name:14} {'baseline' if baseline else 'compress':9} {r.compile_s:9.1f} {r.simulate_s:7.2f} {r.images:6d} "
                      f"{r.weights_checked:8,d} {str(exact):>5} {r.top1_agreement_pct:8.2f} {r.kernel_accuracy_pct:10.2f} {r.torch_accuracy_pct:9.2f}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
