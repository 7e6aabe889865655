"""Launch the cocotb testbench sim/test_huffman_decoder.py on Verilator for one entropy-coded tensor.

One `huffman_decoder` build per format, wide enough for every tensor of it (3 head bits,
12-bit window, 32,768 weights; `entropy.rtl.widest_shape`), cached under
sim_build/huffman_<format>/. A tensor is chosen at run time: plusargs name its decode-table,
sign and mantissa images (written for that build's field layout by pycompress.hw.rtl.huffman),
and the testbench feeds its code words, taken with the commands (first weight, skip bits,
word range) from the same packer, into the decoder's input stream.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

SIM_DIR = Path(__file__).resolve().parent
if str(SIM_DIR) not in sys.path:
    sys.path.insert(0, str(SIM_DIR))

import harness  # noqa: E402
from refmodel import expected_stream  # noqa: E402

from pycompress.hw.huffman_layout import HuffmanTables  # noqa: E402
from pycompress.hw.rtl.huffman import DecoderShape, decoder_params, huffman_sources, layer_images, widest_shape  # noqa: E402

TEST_MODULE = "test_huffman_decoder"
TOPLEVEL = "huffman_decoder"
MAX_DEPTH = 1 << 15  # LeNet fc1: 30,720 weights
BUILD_SHAPES = {fmt: widest_shape(fmt, head_bits=3, window=12, depth=MAX_DEPTH) for fmt in ("bf16", "fp32", "fp16")}


def build(shape: DecoderShape, t: HuffmanTables):
    """Build (or reuse) the Verilator model for `shape`; returns the runner."""
    from buildcache import verilator_runner

    harness.setup_tools()
    p = decoder_params(t, shape)
    build_dir = harness.BUILD_ROOT / (f"huffman_{shape.format}" + ("-waves" if harness.waves_on() else ""))
    build_dir.mkdir(parents=True, exist_ok=True)
    if not (build_dir / TOPLEVEL).exists():
        print(f"verilator: building huffman_{shape.format} (once; cached in {build_dir})", file=sys.stderr, flush=True)
    runner = verilator_runner()
    runner.build(sources=[str(s) for s in huffman_sources()], hdl_toplevel=TOPLEVEL, parameters=p.decoder_parameters(), build_dir=str(build_dir), waves=harness.waves_on(), build_args=["-Wno-fatal"],
                 always=False, log_file=str(build_dir / "build.log"))
    return runner


def commands(t: HuffmanTables, blocks: list[tuple[int, int]] | None = None) -> list[dict]:
    """Decoder commands for block ranges [b0, b1) (default: the whole tensor): first weight, count,
    skip bits and the code-word range a producer sends (from the stored offsets)."""
    st = t.tensor
    nb = t.num_blocks
    out = []
    for b0, b1 in blocks or [(0, nb)]:
        start = 0 if b0 == 0 else int(st.offsets[b0 - 1])
        end = st.code_bits if b1 >= nb else int(st.offsets[b1 - 1])
        first = b0 * st.block
        out.append({"first": first, "n": min(b1 * st.block, t.depth) - first, "skip": start & 15,
                    "word0": start >> 4, "word_last": max(start, end - 1) >> 4})
    return out


def write_case(case_dir: Path, t: HuffmanTables, shape: DecoderShape | None = None) -> Path:
    """Images of `t` for the build of its format, its code words and its expected decode into `case_dir`."""
    case_dir.mkdir(parents=True, exist_ok=True)
    shape = shape or BUILD_SHAPES[t.format.name]
    for name, text in layer_images(t, shape).items():
        (case_dir / name).write_text(text)
    weight, fp32 = expected_stream(t.tensor)
    np.savez(case_dir / "expected.npz", weight=weight, fp32=fp32, code=t.code_words())
    return case_dir


def run_case(case_dir: Path, t: HuffmanTables, testcases=("decode_layer",), seed: int = 1,
             shape: DecoderShape | None = None, **options) -> dict[str, dict]:
    """Run cocotb tests (one simulator process) on the tensor whose images are in `case_dir`."""
    testcases = (testcases,) if isinstance(testcases, str) else tuple(testcases)
    shape = shape or BUILD_SHAPES[t.format.name]
    p = decoder_params(t, shape)
    runner = build(shape, t)
    files = {"LUT_MEM": p.file("lut"), "SIGN_MEM": p.file("sign"), "MANTISSA_MEM": p.file("mantissa")}
    plusargs = [f"+{k}={(case_dir / v).resolve()}" for k, v in files.items() if (case_dir / v).exists()]
    reports = {tc: case_dir / f"report-{tc}.json" for tc in testcases}
    for path in reports.values():
        path.unlink(missing_ok=True)
    nb = t.num_blocks
    rng = np.random.default_rng(seed)
    ranges = [(int(b), int(b) + int(rng.integers(1, 3))) for b in rng.permutation(nb)] if nb > 1 else [(0, 1)]
    case = {"layer": t.name, "ident": t.ident, "format": t.format.name, "n": t.depth, "seed": seed,
            "block": t.tensor.block, "head_bits": t.head, "window": t.window, "code_bits": t.tensor.code_bits,
            "expected": str((case_dir / "expected.npz").resolve()), "report_dir": str(case_dir.resolve()),
            "whole": commands(t), "blocks": commands(t, ranges), **options}
    case_file = case_dir / "case.json"
    case_file.write_text(json.dumps(case, indent=1))
    try:
        runner.test(test_module=TEST_MODULE, hdl_toplevel=TOPLEVEL, testcase=list(testcases), test_dir=str(case_dir),
                    build_dir=str(runner.build_dir), plusargs=plusargs, seed=seed, waves=harness.waves_on(),
                    extra_env={"PYCOMPRESS_CASE": str(case_file.resolve())}, log_file=str(case_dir / "sim.log"))
    except SystemExit:  # cocotb's runner exits under pytest when a test fails; the reports say why
        pass
    return {tc: json.loads(path.read_text()) if path.exists() else
            {"layer": t.name, "n": t.depth, "checked": 0, "passed": False,
             "error": f"simulation ended without a report; see {case_dir / 'sim.log'}"}
            for tc, path in reports.items()}
