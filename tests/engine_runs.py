"""One engine run for the network-engine tests: plan, write, simulate under Verilator with random valid gaps,
backpressure, stalls and (by default) a reset mid-image; returns the plan, the harness report and the
reference forward function the outputs are compared with (the engine's float units: canonical NaNs)."""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sim"))

from pycompress.hw.fpref import as_bits  # noqa: E402
from pycompress.hw.plan import plan_rtl  # noqa: E402


def shipped(name: str):
    import network_harness

    return network_harness.shipped_model(name)


def run_engine(km, name, images, tmp_path, start=None, x=None, reset=True, subnormals=True):
    import network_harness as nh

    from pycompress.hw.hls.reference import reference_forward
    from pycompress.hw.hls.vectors import dataset_inputs

    plan = plan_rtl(km, start=start)
    folder = nh.write_engine(km, plan, tmp_path / f"{name}-engine")
    if x is None:
        x, _ = dataset_inputs(km.graph, images)
    xb = as_bits(np.ascontiguousarray(nh.head_inputs(km, x, start), np.float32)) if x.ndim > 2 or start is None else x
    rep = nh.simulate(folder, plan, xb, tmp_path / f"{name}-run", valid=0.7, ready=0.7, stall=0.002,
                      reset_at=(1, plan.layers[0].n_in // 2) if reset else None, subnormals=subnormals)
    print("\n" + nh.cycle_report(km, plan, rep))
    return plan, rep, functools.partial(reference_forward, canonical_nan=True)
