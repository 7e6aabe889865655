"""Stream every layer of a compressed model through the RTL and compare bit for bit.

    python sim/run_model.py MODEL.pcz --images DIR --work DIR [--tests stream_layer,throughput]

`--images` is the folder `pycompress rtl MODEL.pcz -o DIR` wrote (the images under
test); the expected stream is the container's own Python decode. One simulator
process per layer; reports land in WORK/<layer>/report-<test>.json.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import numpy as np  # noqa: E402
from refmodel import expected_stream  # noqa: E402

from pycompress.core import container  # noqa: E402
from pycompress.hw.layout import layer_tables  # noqa: E402


def stream_model(cm, image_dir: Path, work_dir: Path, tests=("stream_layer",), progress: bool = True,
                 **options) -> list[dict]:
    reports = []
    for t in layer_tables(cm):
        case = work_dir / t.ident
        case.mkdir(parents=True, exist_ok=True)
        weight, fp32 = expected_stream(cm.tensors[t.name])
        np.savez(case / "expected.npz", weight=weight, fp32=fp32)
        start = time.perf_counter()
        out = harness.run_case(case, t, tuple(tests), image_dir=image_dir, **options)
        for test, rep in out.items():
            rep.setdefault("test", test)
            rep["model"] = cm.format
            reports.append(rep)
            if progress:
                status = "ok" if rep.get("passed") else "FAIL"
                print(f"  {status:4} {rep['scheme']}/{rep['format']} {t.name} {test}: {rep.get('checked', 0):,} of "
                      f"{t.depth:,} weights bit-exact ({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)
    return reports


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help=".pcz")
    ap.add_argument("--images", required=True, help="folder written by `pycompress rtl`")
    ap.add_argument("--work", required=True, help="folder for simulator runs and reports")
    ap.add_argument("--tests", default="stream_layer", help="comma-separated cocotb tests per layer")
    args = ap.parse_args(argv)
    cm = container.load(args.model)
    print(f"{args.model}: streaming {len(cm.tensors)} layers through weight_streamer", file=sys.stderr)
    reports = stream_model(cm, Path(args.images), Path(args.work), tuple(args.tests.split(",")))
    return 0 if all(r.get("passed") for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
