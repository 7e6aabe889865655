"""`generate --weights ddr`: the packed weight streams read from a DDR image through an AXI master.

Real g++ C simulation of the generated kernel with the image loaded where the board's DDR
would hold it; every decoded weight and every output compared bit for bit with the numpy
reference, exactly as in bram mode.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pycompress.core import container
from pycompress.compress import CompressConfig, compress_state_dict
from pycompress.hw.hls.csim import run_csim
from pycompress.hw.hls.ddr import DDR_ALIGN_WORDS, IMAGE_FILE, LAYOUT_FILE, ddr_shifts, ddr_window, ddr_words, regroup
from pycompress.hw.hls.estimates import estimate
from pycompress.hw.hls.project import CXXFLAGS, HLSProject, ap_types_dir
from pycompress.hw.hls.writer import generate, render_project
from pycompress.hw.layout import PackedStream, pack_stream, unpack_stream

REPO = Path(__file__).resolve().parent.parent
ESART_MODEL = REPO / "reports" / "lenet" / "models" / "esart-halfpoint.pcz"


@pytest.fixture(scope="module")
def bf16(lenet_state_dict):
    return compress_state_dict(lenet_state_dict, CompressConfig("bf16"))


@pytest.fixture(scope="module")
def ddr_runs(bf16, tmp_path_factory):
    """kind -> (project, CsimResult on all 1,000 test digits), generated and compiled on first use."""
    cache: dict = {}

    def get(kind: str):
        if kind not in cache:
            cm = bf16 if kind == "bf16" else container.load(ESART_MODEL)
            out = tmp_path_factory.mktemp("ddr") / kind
            # the ESART model also runs as a dataflow kernel: both options together, LeNet on all 1,000 digits
            generate(cm, out, weights="ddr", dataflow=kind != "bf16", progress=False)
            cache[kind] = (out, run_csim(out, progress=False))
        return cache[kind]

    return get


def test_regroup_is_the_same_bit_stream():
    """The DDR words carry exactly the packer's bits, MSB first, whatever the code width."""
    rng = np.random.default_rng(3)
    for bits, n, lanes in ((12, 1001, 7), (1, 130, 1), (32, 77, 16), (13, 64, 12)):
        codes = rng.integers(0, 1 << bits, n, dtype=np.uint64)
        stream = pack_stream(codes, bits, lanes=lanes)
        words = regroup(stream)
        assert words.size == ddr_words(bits * n)
        back = unpack_stream(PackedStream(bits, n, words, word_bits=64))
        assert np.array_equal(back, codes)


def test_window_and_shifts_cover_every_group():
    """The reader's window holds every group and the unpacker's shift count is the most any group needs (its II)."""
    for bits in range(1, 33):
        for lanes in (1, 2, 3, 5, 6, 7, 12, 16):
            group = bits * lanes
            ends = [(j * group) % 64 + group for j in range(64)]  # bit after the group, from the window's first word
            assert max((e + 63) // 64 for e in ends) <= ddr_window(bits, lanes)
            assert max(e // 64 for e in ends) == ddr_shifts(bits, lanes) <= ddr_window(bits, lanes)


@pytest.mark.csim
@pytest.mark.parametrize("kind", ["bf16", "esart-m0"])
def test_ddr_kernel_bit_exact(ddr_runs, kind):
    path, r = ddr_runs(kind)
    assert r.weights_bit_exact and r.weights_checked == 44426, r.first_difference
    assert r.outputs_bit_exact, r.first_difference
    assert r.images == 1000 and r.top1_agreement_pct >= 99.9
    assert r.kernel_accuracy_pct == r.torch_accuracy_pct
    manifest = json.loads((path / "project.json").read_text())
    assert manifest["weights"] == "ddr" and manifest["ddr"]["image"] == IMAGE_FILE
    weights_h = (path / "firmware/weights.h").read_text()
    assert "_weight_c0[" not in weights_h  # no on-chip copy of any weight


@pytest.mark.csim
def test_corrupted_ddr_image_is_caught(ddr_runs, tmp_path):
    """One flipped bit in the image (one bit of one fc2 weight's code) fails the bit-exact checks."""
    path, _ = ddr_runs("bf16")
    bad = tmp_path / "bad"
    shutil.copytree(path, bad)  # same firmware: the compiled library is reused
    layout = json.loads((bad / LAYOUT_FILE).read_text())
    seg = next(s for s in layout["segments"] if s["tensor"] == "fc2.weight")
    image = bytearray((bad / IMAGE_FILE).read_bytes())
    image[seg["offset_words"] * 8] ^= 1  # bit 0 of the segment's first (little-endian) word: stream bit 63
    (bad / IMAGE_FILE).write_bytes(bytes(image))
    r = run_csim(bad, images=20, progress=False)
    assert not r.weights_bit_exact and r.first_difference.startswith("fc2.weight: 1 of 10080 elements differ")
    y = HLSProject(bad).predict(np.zeros((1, 784), np.float32))
    assert y.shape == (1, 10)
    (bad / IMAGE_FILE).write_bytes(bytes(image[:-8]))  # a truncated image is refused in one line
    with pytest.raises(Exception, match="DDR weight image has"):
        HLSProject(bad).predict(np.zeros((1, 784), np.float32))


def test_ddr_image_deterministic_and_bram_unchanged(bf16):
    """Two generations give the same bytes; the image holds the codes of the bram kernel's tables bit for bit."""
    from pycompress.hw.hls.context import template_values
    from pycompress.hw.plan import kernel_model
    from pycompress.hw.lanewords import Column, LaneWords, unfold_rows, unpack_lane_words
    from pycompress.hw.layout import lane_order

    a = render_project(bf16, weights="ddr")
    b = render_project(bf16, weights="ddr")
    assert a == b
    bram = render_project(bf16)
    assert IMAGE_FILE not in bram and "ddr" not in json.loads(bram["project.json"])
    assert "pyc_ddr" not in bram["firmware/pycompress_defines.h"] + bram["firmware/pycompress_top.cpp"]
    layout = json.loads(a[LAYOUT_FILE])
    image = np.frombuffer(a[IMAGE_FILE], dtype="<u8")
    assert image.size == layout["words"] and layout["bytes"] == len(a[IMAGE_FILE])
    tables = {p["ident"]: p for p in template_values(kernel_model(bf16), dataflow=True)["params"]}  # as generated
    text = bram["firmware/weights.h"]
    for seg in layout["segments"]:
        assert seg["offset_words"] % DDR_ALIGN_WORDS == 0
        words = image[seg["offset_words"]:seg["offset_words"] + seg["words"]].astype(np.uint64)
        stream = unpack_stream(PackedStream(seg["code_bits"], seg["codes"], words, word_bits=64))
        p = tables[seg["ident"]]
        columns = []
        for k, col in enumerate(p["columns"]):  # the bram kernel's ROM columns, as rendered (folded rows)
            body = text[text.index(f"{seg['ident']}_c{k}[{col['rows']}] = {{") :]
            body = body[body.index("{") + 1:body.index("};")]
            rows = np.array([int(v.strip().rstrip("u")) for v in body.split(",") if v.strip()], np.uint64)
            columns.append(unfold_rows(rows, Column(col["width"], p["depth"], p["big"], col["fold"])))
        rom = unpack_lane_words(LaneWords(p["code_bits"], p["lanes"], p["groups"], p["reduction"], tuple(p["widths"]),
                                          tuple(columns)))
        in_order = rom[lane_order(p["groups"] * p["lanes"], p["reduction"], p["lanes"])]
        assert np.array_equal(in_order, stream), seg["ident"]


def test_estimate_ddr_bytes_are_the_image(bf16):
    """The estimator's DDR bytes per image are the generated image's segments; compressed moves fewer."""
    lanes = {"conv1": (6, 2), "conv2": (8, 2), "fc1": (4, 1), "fc2": (2, 1), "fc3": (1, 1)}
    est = estimate(bf16, parallel=lanes, dataflow=True)
    for key, kernel in (("compressed", "compressed"), ("baseline", "raw"), ("offset_baseline", "offset"),
                        ("float32_baseline", "float")):
        layout = json.loads(render_project(bf16, kernel=kernel, weights="ddr", parallel=lanes)[LAYOUT_FILE])
        assert est[key].ddr_bytes == layout["bytes_read_per_image"] == 8 * sum(s["words"] for s in layout["segments"])
    c, b, f = (est[k].ddr_summary() for k in ("compressed", "baseline", "float32_baseline"))
    assert c["bytes_per_image"] == 8 * sum(ddr_words(l.weight_bits) for l in est["compressed"].layers if l.weight_bits)
    assert c["bytes_per_image"] < b["bytes_per_image"] < f["bytes_per_image"]
    # raw BF16 by hand: 16 bits per weight, each layer rounded up to whole 64-bit beats (conv1: 2,400 bits -> 38)
    assert b["bytes_per_image"] == 8 * (38 + 600 + 7680 + 2520 + 210) == 88_384
    assert c["cycles"] >= est["compressed"].cycles and b["cycles"] < f["cycles"]
    # fc1 by hand: 256 inputs x 30 groups of 4 codes of 13 bits (52 bits: at most one new beat per group, so the
    # unpacker's II is 1); the MAC loop (7,680 iterations, II 1, depth 14, +2) is the slowest of the three
    # processes, after 64 cycles of read latency
    fc1 = next(l for l in est["compressed"].layers if l.name == "fc1")
    assert (fc1.trip_counts, fc1.lanes, fc1.ii, fc1.pipeline_depth) == ((1, 16, 4, 4, 1, 30), 4, 1, 14)
    assert fc1.cycles == 7679 + 14 + 2 and fc1.ddr_cycles == fc1.cycles + 64
    assert c["weight_bram18k"] == 0 and c["bram18k"] < est["compressed"].bram18k


@pytest.mark.csim
def test_ddr_testbench_reads_the_image(ddr_runs, tmp_path):
    """The Vitis C-simulation testbench (tb/) with g++: it loads ddr/weights.bin and passes its address."""
    path, _ = ddr_runs("bf16")
    project = HLSProject(path)
    lib = project.compile(progress=False)  # the kernel as C simulation built it; the testbench links against it
    exe = tmp_path / "tb"
    flags = [f for f in CXXFLAGS if f not in ("-shared", "-fPIC")]
    subprocess.run(["g++", *flags, "-I", str(ap_types_dir()), "-I", str(path / "firmware"), str(path / f"tb/tb_{project.top}.cpp"),
                    str(lib), f"-Wl,-rpath,{lib.parent}", "-o", str(exe)], check=True)
    res = subprocess.run([str(exe)], cwd=path, capture_output=True, text=True)
    assert res.returncode == 0 and "10 vectors, 0 mismatches" in res.stdout, res.stdout
    bad = tmp_path / "noimage"
    shutil.copytree(path / "tb_data", bad / "tb_data")
    res = subprocess.run([str(exe)], cwd=bad, capture_output=True, text=True)
    assert res.returncode == 2 and "cannot read the weight image" in res.stdout
