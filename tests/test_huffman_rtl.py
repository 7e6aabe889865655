"""The RTL entropy decoder (rtl/huffman_decoder.sv, huffman_streamer.sv): images, lint, Verilator + cocotb
bit for bit against the Python decode on every LeNet layer, and Yosys resource counts."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sim"))

from pycompress.compress import CompressConfig, compress_state_dict  # noqa: E402
from pycompress.core.fileio import MANIFEST  # noqa: E402
from pycompress.schemes.huffman import encode_bits  # noqa: E402
from pycompress.schemes.huffman.huffman import decode_table  # noqa: E402
from pycompress.hw.huffman_layout import huffman_tables, tensor_tables  # noqa: E402
from pycompress.hw.rtl.huffman import (INCLUDE, TOP, decoder_params, exact_shape, huffman_sources, layer_images,  # noqa: E402
    render_huffman_rtl, widest_shape)
from pycompress.core.errors import PycompressError  # noqa: E402

FORMATS = ("bf16", "fp32")
BLOCK = 1024  # offsets every 1,024 weights: fc1 has 30 blocks to start from
LENET_LAYERS = ("conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "fc3.weight")


def lenet(sd, fmt: str):
    return compress_state_dict(sd, CompressConfig(format=fmt, scheme="huffman", block=BLOCK))


def _hex(text: str) -> np.ndarray:
    return np.array([int(x, 16) for x in text.splitlines()[1:]], np.int64)


def test_images_rebuild_every_weight(lenet_state_dict):
    """Decoding the images as the RTL does (table walk, OR-joined fields) in numpy gives the container's decode."""
    for fmt in FORMATS:
        for t in huffman_tables(lenet(lenet_state_dict, fmt)):
            for shape in (exact_shape(t), widest_shape(fmt, 3, 12, 1 << 15)):
                p = decoder_params(t, shape)
                img = layer_images(t, shape)
                code = _hex(img[p.file("code")])
                bits = np.unpackbits(code.astype(">u2").view(np.uint8))
                lut = _hex(img[p.file("lut")])
                sign = _hex(img[p.file("sign")])
                mant = _hex(img[p.file("mantissa")])
                weights = np.zeros(t.depth, np.int64)
                pos, w = 0, shape.window
                f = t.format
                for i in range(min(t.depth, 3000)):  # the table walk is sequential; the first 3,000 suffice
                    e = lut[int("".join(map(str, bits[pos:pos + w])), 2)]
                    pos += e & 15
                    weights[i] = (sign[i] << (f.total_bits - 1)) | ((e >> 4) << (f.total_bits - 1 - shape.upper_bits)) \
                        | (mant[i] << shape.mant_shift)
                expect = t.tensor.decode_bits().reshape(-1).astype(np.int64)
                k = min(t.depth, 3000)
                assert np.array_equal(weights[:k], expect[:k]), (fmt, t.name, shape)
                if t.depth <= 3000:
                    assert pos == t.tensor.code_bits


def test_shapes_and_names():
    bits = np.full(100, 0x3F80, np.uint16)
    one = tensor_tables({"w\n*/ `define x": encode_bits(bits, "bf16")})[0]
    assert one.window == 1 and one.tensor.code_bits == 0  # one symbol: zero-bit codes, a 2-entry table
    assert decode_table(one.tensor.code_lengths, 1).length.tolist() == [0, 0]
    files = render_huffman_rtl([one])
    assert "`define" not in files[INCLUDE] and "*/" not in files[INCLUDE]
    assert all(name.startswith(one.ident) for name in files if name not in (INCLUDE, f"{TOP}.sv"))
    narrow = tensor_tables({"n": encode_bits((np.arange(4000, dtype=np.uint32) << 13) & 0xFFFFE000, "fp32",
                                             mantissa_bits=10, head_bits=2)})[0]
    assert exact_shape(narrow).mant_shift == 13 and exact_shape(narrow).mant_w == 8
    assert widest_shape("fp32", 3, 12, 4096).fits(narrow)
    with pytest.raises(PycompressError, match="cannot decode"):
        decoder_params(narrow, widest_shape("bf16", 3, 12, 4096))


def test_cli_rtl_writes_huffman_images(lenet_state_dict, tmp_path, capsys):
    """`pycompress rtl` on a huffman container: every layer's decoder images, the include and the streamer top;
    a second run replaces the folder; the images are those of entropy.rtl (one packer)."""
    from pycompress.core import container
    from pycompress.cli.main import main
    from pycompress.hw.rtl.huffman import TOP

    cm = compress_state_dict({k: v for k, v in lenet_state_dict.items() if k in ("conv1.weight", "fc3.weight")},
                             CompressConfig(format="bf16", scheme="huffman"))
    container.save(cm, tmp_path / "m.pcz")
    out = tmp_path / "rtl"
    for _ in range(2):
        assert main(["rtl", str(tmp_path / "m.pcz"), "-o", str(out)]) == 0
    assert "entropy-coded" in capsys.readouterr().out
    files = render_huffman_rtl(huffman_tables(cm))
    assert sorted(p.name for p in out.iterdir()) == sorted([*files, MANIFEST])
    assert all((out / name).read_text() == text for name, text in files.items())
    top = (out / f"{TOP}.sv").read_text()
    assert top.count("huffman_streamer #(") == 2 and "conv1_weight_first_block" in top


def test_rtl_refuses_mixed_schemes():
    from pycompress.core.container import CompressedModel
    from pycompress.schemes.expshare import encode_bits as share
    from pycompress.hw.rtl.huffman import is_huffman

    bits = np.arange(64, dtype=np.uint16).reshape(8, 8) | 0x3F00
    cm = CompressedModel("bf16", ("a", "b"), {"a": encode_bits(bits, "bf16"), "b": share(bits, "bf16")}, {})
    with pytest.raises(PycompressError, match="mixes schemes"):
        is_huffman(cm)


# ---- lint --------------------------------------------------------------------------------------------------

LINT = [("huffman_decoder", {}), ("huffman_decoder", {"MANT_W": 0}), ("huffman_decoder", {"L": 1, "DEPTH": 1}),
        ("huffman_decoder", {"MAN_BITS": 23, "UPPER_BITS": 10, "MANT_W": 21, "DEPTH": 30720}),
        ("huffman_decoder", {"EXP_BITS": 5, "MAN_BITS": 10, "UPPER_BITS": 8, "MANT_W": 5, "MANT_SHIFT": 2, "L": 15}),
        ("huffman_streamer", {}), ("huffman_streamer", {"DEPTH": 1, "L": 1, "MANT_W": 0, "OFFSET_BITS": 1}),
        ("huffman_streamer", {"DEPTH": 30720, "NUM_BLOCKS": 30, "BLOCK": 1024, "OFFSET_BITS": 18, "CODE_BITS": 141793,
                              "CODE_DEPTH": 8866, "UPPER_BITS": 10, "MANT_W": 5})]


@pytest.mark.sim
def test_generated_top_lint_clean(lenet_state_dict, tmp_path):
    """The `huffman_weights` top `pycompress rtl` writes for LeNet passes Verilator lint (-Wall) with its include."""
    import harness

    from pycompress.hw.rtl.huffman import TOP, write_huffman_rtl

    harness.setup_tools()
    write_huffman_rtl(lenet(lenet_state_dict, "fp32"), tmp_path)
    r = subprocess.run(["verilator", "--lint-only", "-Wall", *map(str, huffman_sources()), str(tmp_path / f"{TOP}.sv"),
                        f"-I{tmp_path}", "--top-module", TOP], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr


@pytest.mark.sim
@pytest.mark.parametrize("top,params", LINT)
def test_lint_clean(top, params):
    import harness

    harness.setup_tools()
    r = subprocess.run(["verilator", "--lint-only", "-Wall", *map(str, huffman_sources()), "--top-module", top,
                        *[f"-G{k}={v}" for k, v in params.items()]], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# ---- Verilator + cocotb ------------------------------------------------------------------------------------

@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.long
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_lenet_layer_bit_exact(fmt, lenet_state_dict, tmp_path):
    """Every weight of every LeNet layer (one build per format): whole tensor twice under input stalls and output
    backpressure, every block start from the offsets, and ready held high (N weights in N + c cycles)."""
    import huffman_harness

    tables = huffman_tables(lenet(lenet_state_dict, fmt))
    assert [t.name for t in tables] == list(LENET_LAYERS)
    latencies = {}
    for t in tables:
        case = huffman_harness.write_case(tmp_path / t.ident, t)
        reports = huffman_harness.run_case(case, t, ("decode_layer", "throughput", "random_access"))
        for test, rep in reports.items():
            assert rep.get("passed"), f"{t.name} {test}: {rep}"
        assert reports["decode_layer"]["checked"] == 2 * t.depth
        assert reports["random_access"]["checked"] >= t.depth
        tp = reports["throughput"]
        assert tp["bubbles"] == 0 and tp["checked"] == t.depth
        latencies[t.name] = tp["latency"]
    print(f"{fmt}: cycles - weights per layer: {latencies}")
    assert max(latencies.values()) <= 8


@pytest.mark.sim
def test_flipped_sign_bit_is_caught(lenet_state_dict, tmp_path):
    """The comparison is not vacuous: one sign bit flipped in the image is reported at that weight."""
    import huffman_harness

    t = huffman_tables(lenet(lenet_state_dict, "bf16"))[0]
    case = huffman_harness.write_case(tmp_path, t)
    image = case / decoder_params(t, huffman_harness.BUILD_SHAPES["bf16"]).file("sign")
    lines = image.read_text().splitlines()
    k = 77  # weight 77 sits on line 78, after the header comment
    lines[k + 1] = "0" if lines[k + 1] == "1" else "1"
    image.write_text("\n".join(lines) + "\n")
    rep = huffman_harness.run_case(case, t, "throughput")["throughput"]
    assert not rep["passed"] and rep["mismatches"] == 1 and rep["first_mismatch"]["index"] == k
    assert int(rep["first_mismatch"]["got_weight"], 16) ^ int(rep["first_mismatch"]["expected_weight"], 16) == 0x8000


# ---- Yosys -------------------------------------------------------------------------------------------------

@pytest.mark.yosys
@pytest.mark.slow
def test_yosys_synthesises_a_lenet_layer_decoder(lenet_state_dict, tmp_path):
    """conv2's decoder (BF16, 2,400 weights, 11-bit window) maps to xc7 cells: tables in block RAM, no DSP."""
    from pycompress.hw.rtl.synth_report import huffman_designs, synthesise

    cm = compress_state_dict({k: v for k, v in lenet_state_dict.items() if k == "conv2.weight"},
                             CompressConfig(format="bf16", scheme="huffman"))
    design, top, work, src, params = huffman_designs(cm, tmp_path)[0]
    assert top == "huffman_decoder" and params["L"] == 11 and params["LUT_BLOCK"] == 1
    r = synthesise(design, top, work, src, params)
    assert r.dsp == 0 and r.ramb18 + r.ramb36 > 0
    assert 0 < r.lut < 600 and 0 < r.ff < 300
