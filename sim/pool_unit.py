"""A pooling unit on its own under Verilator (sim/pool_unit_cocotb.py): crafted images in, the reference out.

    python sim/pool_unit.py max|avg K S P [C H W]     # one run with random stalls, prints the report

Inputs are uint32 bit patterns; the expected outputs come from pycompress.hw.hls.reference (a one-layer
graph), so the unit is checked against the same semantics the whole engine is.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

SIM_DIR = Path(__file__).resolve().parent
REPO = SIM_DIR.parent
for _p in (str(SIM_DIR), str(REPO)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from pycompress.core.graph import AvgPool2d, Graph, MaxPool2d  # noqa: E402
from pycompress.hw.fpref import reciprocal  # noqa: E402
from pycompress.hw.hls.reference import reference_forward  # noqa: E402

from pycompress.hw.rtl.render import POOL_SOURCES  # noqa: E402

SOURCES = {"max": POOL_SOURCES["maxpool"], "avg": POOL_SOURCES["avgpool"]}  # the engine's compile order
SPECIALS = np.array([0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x7F800001, 0x7FA5A5A5,
                     0x00000001, 0x807FFFFF, 0x00400000, 0x3F800000, 0xBF800000, 0x7F7FFFFF, 0xFF7FFFFF], np.uint32)


def pool_graph(kind: str, c: int, h: int, w: int, k: int, s: int, p: int) -> Graph:
    return Graph((c, h, w), ((MaxPool2d if kind == "max" else AvgPool2d)("pool", k, s, padding=p),))


def expected(graph: Graph, x: np.ndarray, subnormals: bool = True) -> np.ndarray:
    """Reference outputs (uint32) of images x (uint32, images x C*H*W), as the engine computes them: an average is
    a float sum, its NaN the float units' canonical quiet NaN (pycompress/hw/fpref.py), where numpy keeps an
    operand's payload; a maximum is one of its inputs, bit for bit."""
    with np.errstate(all="ignore"):
        out = reference_forward(graph, {}, x.view(np.float32).reshape(-1, *graph.input_shape), subnormals,
                                canonical_nan=True)
    return out.view(np.uint32)


def crafted_images(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """Six images (uint32): random normals; specials everywhere (NaNs first and later, +-0 ties, +-inf,
    subnormals); zeros of random signs (every window a tie); every value NaN; every value -inf; and random
    bit patterns."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    normal = rng.standard_normal(n).astype(np.float32).view(np.uint32)
    mix = np.where(rng.random(n) < 0.6, rng.choice(SPECIALS, n), normal)
    zeros = rng.integers(0, 2, n, dtype=np.uint32) << np.uint32(31)
    nans = rng.choice(SPECIALS[4:8], n)
    neg_inf = np.full(n, 0xFF800000, np.uint32)
    bits = rng.integers(0, 1 << 32, n, dtype=np.uint64).astype(np.uint32)
    return np.stack([normal, mix, zeros, nans, neg_inf, bits]).astype(np.uint32)


def run(work: Path, kind: str, shape: tuple[int, int, int], k: int, s: int, p: int, x: np.ndarray, seed: int = 1,
        valid_prob: float = 1.0, ready_prob: float = 1.0, stall_prob: float = 0.0, subnormals: bool = True) -> dict:
    """Build (cached per parameter set) and run; the report with outputs (uint32) and the expected ones."""
    import harness
    from buildcache import verilator_runner

    harness.setup_tools()
    c, h, w = shape
    top = f"{kind}pool_unit"
    params = {"C": c, "H": h, "W": w, "K": k, "S": s, "P": p}
    if kind == "avg":
        params.update(RECIP=f"32'h{int(np.float32(reciprocal(k * k)).view(np.uint32)):08x}", SUBNORMALS=int(subnormals))
    build_dir = REPO / "sim_build" / "pool_unit" / (top + "_" + "_".join(f"{n}{v}" for n, v in params.items()).replace("'", ""))
    runner = verilator_runner()
    runner.build(sources=[str(REPO / "rtl" / n) for n in SOURCES[kind]], hdl_toplevel=top, build_dir=str(build_dir),
                 parameters=params, build_args=["-Wno-fatal", "-O1"],
                 always=False, log_file=str(build_dir / "build.log"))
    work.mkdir(parents=True, exist_ok=True)
    graph = pool_graph(kind, c, h, w, k, s, p)
    want = expected(graph, x, subnormals)
    np.save(work / "inputs.npy", x)
    case = {"inputs": str((work / "inputs.npy").resolve()), "n_out": int(want.shape[1]), "seed": seed,
            "valid_prob": valid_prob, "ready_prob": ready_prob, "stall_prob": stall_prob,
            "report_dir": str(work.resolve())}
    (work / "case.json").write_text(json.dumps(case))
    (work / "report.json").unlink(missing_ok=True)
    try:
        runner.test(test_module="pool_unit_cocotb", hdl_toplevel=top, testcase="run_images", test_dir=str(work),
                    build_dir=str(build_dir), extra_env={"PYCOMPRESS_CASE": str((work / "case.json").resolve())},
                    log_file=str(work / "sim.log"))
    except SystemExit:  # cocotb's runner exits under pytest when a test fails; the report says why
        pass
    if not (work / "report.json").exists():
        return {"errors": [f"no report; see {work / 'sim.log'}"]}
    report = json.loads((work / "report.json").read_text())
    report["outputs"], report["expected"] = np.load(work / "outputs.npy"), want
    return report


if __name__ == "__main__":
    kind = sys.argv[1]
    k, s, p, *chw = map(int, sys.argv[2:])
    shape = tuple(chw) if chw else (2, 9, 7)
    rep = run(REPO / "sim_build" / "pool_unit" / "cli", kind, shape, k, s, p, crafted_images(shape), valid_prob=0.8,
              ready_prob=0.7, stall_prob=0.02)
    bad = np.argwhere(rep["outputs"] != rep["expected"])
    print(json.dumps({"errors": rep["errors"], "cycles": rep["cycles"], "mismatches": int(bad.shape[0]),
                      "first": bad[:1].tolist()}))
