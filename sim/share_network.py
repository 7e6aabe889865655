"""A chosen weight-sharing v2 model (`pycompress share`) through the whole-network RTL engine under Verilator.

The engine holds each layer's codebook and fixed-width indices (the entropy-coded lane decoders,
rtl/coded_decoder.sv, are checked on the same models by sim/coded_harness.py); the outputs of N test
digits must equal the numpy reference of the model bit for bit.

    .venv/bin/python sim/share_network.py MODEL.pcz [--images 100] [--out build/share-network]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

SIM_DIR = Path(__file__).resolve().parent
for _p in (str(SIM_DIR), str(SIM_DIR.parent)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from network_harness import head_inputs, simulate, write_engine  # noqa: E402

from pycompress.hw.fpref import as_bits  # noqa: E402


def run(pcz: str, images: int, out: Path) -> dict:
    from pycompress.core import container
    from pycompress.hw.hls.reference import reference_forward
    from pycompress.hw.hls.vectors import dataset_inputs
    from pycompress.hw.plan import kernel_model, plan_rtl

    km = kernel_model(container.load(pcz))
    plan = plan_rtl(km, None)
    folder = write_engine(km, plan, out / "engine")
    x, y = dataset_inputs(km.graph, images)
    want = as_bits(reference_forward(km.graph, km.params, x, canonical_nan=True))
    rep = simulate(folder, plan, as_bits(np.ascontiguousarray(head_inputs(km, x, None), np.float32)), out / "run",
                   valid=0.8, ready=0.8, stall=0.002, reset_at=(min(1, images - 1), plan.layers[0].n_in // 2))
    rep["mismatches"] = int((rep["outputs"] != want).sum()) if rep.get("done") else -1
    rep["lanes"] = dict(plan.lanes)
    if rep.get("done") and y is not None:
        rep["accuracy"] = 100.0 * float((rep["outputs"].view(np.float32).argmax(1) == np.asarray(y)).mean())
    return rep


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("build/share-network"))
    a = ap.parse_args()
    t0 = time.monotonic()
    rep = run(a.model, a.images, a.out)
    if not rep.get("done"):
        print(f"{a.model}: the simulation did not finish: {rep.get('error', rep)}")
        return 1
    bad = rep["mismatches"]
    print(f"{a.model}: {a.images} test digits through the RTL engine (lanes {rep['lanes']}; valid/ready 80%, stalls, a "
          f"reset mid-image): outputs {'bit-exact' if not bad else f'{bad} MISMATCHED words'} against the reference; "
          f"engine top-1 accuracy {rep.get('accuracy', float('nan')):.2f}%; simulation {rep['wall_s']} s, "
          f"total {time.monotonic() - t0:.0f} s")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
