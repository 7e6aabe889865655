"""C simulation with g++: generated decoders and kernels bit-exact against Python and the numpy reference.

Each kernel is generated and compiled once per session (fixture `csim_runs`).
"""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from pycompress.core import container
from pycompress.schemes.codebook import make_clustered
from pycompress.schemes.expshare import encode_bits
from pycompress.compress import CompressConfig, compress, compress_state_dict
from pycompress.core.container import CompressedModel
from pycompress.core.formats import get_format, tensor_bits, to_format
from pycompress.frontends.graph_builtin import infer_graph
from pycompress.hw.hls.csim import run_csim
from pycompress.hw.hls.project import CXXFLAGS, HLSProject, ap_types_dir
from pycompress.hw.hls.writer import generate

pytestmark = [pytest.mark.csim, pytest.mark.slow]
REPO = Path(__file__).resolve().parent.parent


def clustered_lenet(sd: dict[str, torch.Tensor], k: int = 16) -> CompressedModel:
    """Every weight tensor shared over k values (quantiles; conv codebooks fp32, fc codebooks bf16), biases raw."""
    tensors, raw = {}, {}
    for name, t in sd.items():
        if t.dim() < 2:
            raw[name] = t.float()
            continue
        fmt = get_format("fp32" if name.startswith("conv") else "bf16")
        w = t.float().reshape(-1).numpy()
        book = np.unique(tensor_bits(to_format(torch.from_numpy(np.quantile(w, np.linspace(0, 1, k)).astype(np.float32)), fmt)))
        values = to_format(torch.from_numpy(book.view(fmt.int_dtype).copy()).view(fmt.torch_dtype), get_format("fp32")).numpy()
        idx = np.abs(w[:, None] - values[None, :]).argmin(1)
        tensors[name] = make_clustered(book, idx, tuple(t.shape), fmt)
    return CompressedModel("fp32", tuple(sd), tensors, raw, graph=infer_graph(sd), info={"method": "test-cluster-16"})


def mantissa_truncated(sd: dict[str, torch.Tensor], keep: int) -> CompressedModel:
    """BF16 weights rounded toward zero to `keep` mantissa bits and stored with only those bits."""
    fmt = get_format("bf16")
    cm = compress_state_dict(sd, CompressConfig("bf16"))
    tensors = {}
    for name, st in cm.tensors.items():
        bits = st.decode_bits() & fmt.uint_dtype.type(~((1 << (fmt.mantissa_bits - keep)) - 1) & 0xFFFF)
        tensors[name] = encode_bits(bits, fmt, mantissa_bits=keep)
        assert tensors[name].mantissa_bits == keep
    return replace(cm, tensors=tensors)


def digits_model():
    """The shipped DigitsCNN (pycompress/models/), the same on every machine."""
    from pycompress.frontends.digits_cnn import DigitsCNN
    from pycompress.frontends.shipped import default_digits_cnn

    model = DigitsCNN()
    model.load_state_dict(default_digits_cnn())
    return model.eval()


# Every variant of the issue-21 list on LeNet (BF16 unless named): the default DATAFLOW kernel with weights in block
# RAM, sequential, DDR, DDR + DATAFLOW; exponent-shared, raw, offset exponent, float32, clustered, entropy-coded;
# FP32 / BF16 / FP16; lossy mantissas; and the digits CNN. The default run simulates SHORT digits of each, the
# long one all 1,000 (500 for the digits CNN), on the same compiled kernels.
KINDS = ("fp32", "bf16", "fp16", "cluster16", "bf16-m4", "esart-m0", "digits-bf16", "baseline-fp32", "raw-bf16",
         "offset-bf16", "huffman-bf16", "seq-bf16", "ddr-bf16", "ddrseq-fp16")
# raw-bf16: the like-for-like baseline, raw BF16 bits in the same tables; offset-bf16: each exponent minus the
# layer's smallest; esart-m0: the committed lossy study model (ESART, 0 stored mantissa bits, A2 exponents)
ESART_MODEL = REPO / "reports" / "lenet" / "models" / "esart-halfpoint.pcz"
SHORT = 100


@pytest.fixture(scope="session")
def csim_runs(lenet_state_dict, tmp_path_factory):
    """kind -> (project path, CsimResult on SHORT test inputs), generated and compiled on first use."""
    cache: dict = {}

    def get(kind: str):
        if kind not in cache:
            prefix, _, fmt = kind.rpartition("-")
            if kind == "cluster16":
                cm = clustered_lenet(lenet_state_dict)
            elif kind == "bf16-m4":  # lossy: 4 stored mantissa bits, the decoder appends 3 zero bits
                cm = mantissa_truncated(lenet_state_dict, 4)
            elif kind == "esart-m0":
                cm = container.load(ESART_MODEL)
                assert {st.mantissa_bits for st in cm.tensors.values()} == {0}
            elif kind == "digits-bf16":
                cm = compress(digits_model(), CompressConfig("bf16"))
            elif prefix == "huffman":
                cm = compress_state_dict(lenet_state_dict, CompressConfig(fmt, scheme="huffman"))
            else:
                cm = compress_state_dict(lenet_state_dict, CompressConfig(fmt or kind))
            out = tmp_path_factory.mktemp("hls") / kind
            kernel = {"baseline": "float", "raw": "raw", "offset": "offset"}.get(prefix, "compressed")
            generate(cm, out, kernel=kernel, weights="ddr" if prefix.startswith("ddr") else "bram",
                     dataflow=False if prefix in ("seq", "ddrseq") else None, progress=False)
            cache[kind] = (out, run_csim(out, images=SHORT, progress=False))
        return cache[kind]

    return get


def _exact(r, kind: str, images: int) -> None:
    assert r.weights_bit_exact, r.first_difference
    assert r.weights_checked == (44426 if not kind.startswith("digits") else 3658)
    assert r.outputs_bit_exact, r.first_difference
    assert r.images == images and r.top1_agreement_pct >= 99.9
    assert r.kernel_accuracy_pct == r.torch_accuracy_pct


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_bit_exact_and_accurate(csim_runs, kind):
    _, r = csim_runs(kind)
    _exact(r, kind, SHORT)
    assert r.compile_s + r.simulate_s < 120


@pytest.mark.long
@pytest.mark.parametrize("kind", KINDS)
def test_kernel_bit_exact_on_the_whole_test_split(csim_runs, kind):
    """All 1,000 LeNet test digits (the digits CNN's 500) through every variant, on the compiled kernel."""
    path, _ = csim_runs(kind)
    _exact(run_csim(path, progress=False), kind, 500 if kind.startswith("digits") else 1000)


def test_baseline_equals_compressed_fp32(csim_runs):
    (pc, _), (pb, _) = csim_runs("fp32"), csim_runs("baseline-fp32")
    x = np.random.default_rng(1).random((20, 784), dtype=np.float32)
    yc, yb = HLSProject(pc).predict(x), HLSProject(pb).predict(x)
    assert np.array_equal(yc.view(np.uint32), yb.view(np.uint32))


@pytest.mark.parametrize("fmt", ["fp16", "bf16"])
def test_widening_exhaustive_matches_torch(csim_runs, fmt):
    path, _ = csim_runs("fp16")
    bits = np.arange(1 << 16, dtype=np.uint32)
    got = HLSProject(path).widen(bits, fmt)
    f = get_format(fmt)
    want = tensor_bits(torch.from_numpy(bits.astype(np.uint16).view(np.int16).copy()).view(f.torch_dtype).float())
    assert np.array_equal(got, want.view(np.uint32)), f"first difference at 0x{int(np.flatnonzero(got != want)[0]):04x}"


def test_decoder_reaches_last_exponent_entry(csim_runs):
    """The last entry of every exponent ROM is used, and decoded correctly (no index wrap-around)."""
    path, r = csim_runs("bf16")
    cm = container.load(path / "model.pcz")
    for name, st in cm.tensors.items():
        _, idx, _ = st.fields()
        assert int(idx.max()) == len(st.exponent_table) - 1, name
    assert r.weights_bit_exact


def test_testbench_passes_with_gxx(csim_runs, tmp_path):
    path, _ = csim_runs("fp16")
    exe = tmp_path / "tb"
    top = HLSProject(path).top
    flags = [f for f in CXXFLAGS if f not in ("-shared", "-fPIC")]
    subprocess.run(["g++", *flags, "-I", str(ap_types_dir()), "-I", str(path / "firmware"), str(path / f"firmware/{top}.cpp"),
                    str(path / f"tb/tb_{top}.cpp"), "-o", str(exe)], check=True)
    res = subprocess.run([str(exe)], cwd=path, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout
    assert "10 vectors, 0 mismatches" in res.stdout
    # a wrong expected value is caught
    data = (path / "tb_data/tb_output_predictions.dat").read_text().splitlines()
    row = data[2].split()
    row[0] = f"{int(row[0], 16) ^ 1:08x}"
    bad = tmp_path / "bad"
    (bad / "tb_data").mkdir(parents=True)
    (bad / "tb_data/tb_input_features.dat").write_text((path / "tb_data/tb_input_features.dat").read_text())
    (bad / "tb_data/tb_output_predictions.dat").write_text("\n".join(data[:2] + [" ".join(row)] + data[3:]) + "\n")
    res = subprocess.run([str(exe)], cwd=bad, capture_output=True, text=True)
    assert res.returncode == 1 and "1 mismatches" in res.stdout


def test_cli_compress_generate_csim(csim_runs, lenet_path, tmp_path):
    from tests.conftest import run_cli

    r = run_cli("compress", lenet_path, "--format", "fp16", "-o", tmp_path / "x.pcz")
    assert r.returncode == 0, r.stderr
    r = run_cli("generate", tmp_path / "x.pcz", "-o", tmp_path / "hls")
    assert r.returncode == 0, r.stderr
    path, _ = csim_runs("fp16")  # same input -> byte-identical project; reuse its compiled library
    assert (tmp_path / "hls/firmware/weights.h").read_bytes() == (path / "firmware/weights.h").read_bytes()
    r = run_cli("csim", path, "--images", "50", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["images"] == 50 and data["outputs_bit_exact"] and data["weights_bit_exact"]


def test_csim_catches_a_wrong_table_entry(csim_runs, tmp_path):
    path, _ = csim_runs("bf16")
    bad = tmp_path / "bad"
    shutil.copytree(path, bad, ignore=shutil.ignore_patterns("csim_build"))
    text = (bad / "firmware/weights.h").read_text()
    head, sep, rest = text.partition("fc2_weight_c0[")
    body_start = rest.index("{\n") + 2
    first, comma, tail = rest[body_start:].partition(",")
    value = int(first.strip().rstrip("u"))  # word 0 of column 0; its lowest bit is lane 0's mantissa LSB
    (bad / "firmware/weights.h").write_text(head + sep + rest[:body_start] + f"        {value ^ 1}u" + comma + tail)
    r = run_csim(bad, images=20, progress=False)
    assert not r.weights_bit_exact and r.first_difference.startswith("fc2.weight: 1 of 10080 elements differ")


def test_csim_reads_the_folded_field(csim_runs, tmp_path):
    """fc1's last 6-bit column is folded 3 times (words j, j+1707, j+3414 in one 18-bit row): one bit of the third
    field of row 0 belongs to word 3414 only, so exactly one weight must change."""
    path, _ = csim_runs("bf16")
    bad = tmp_path / "bad"
    shutil.copytree(path, bad, ignore=shutil.ignore_patterns("csim_build"))
    text = (bad / "firmware/weights.h").read_text()
    head, sep, rest = text.partition("fc1_weight_c2[1707]")
    assert sep and "j >= 3414u ? j - 3414u : j >= 1707u ? j - 1707u : j" in rest  # the layout this test assumes
    body_start = rest.index("{\n") + 2
    first, comma, tail = rest[body_start:].partition(",")
    value = int(first.strip().rstrip("u"))
    (bad / "firmware/weights.h").write_text(head + sep + rest[:body_start] + f"        {value ^ (1 << 12)}u" + comma + tail)
    r = run_csim(bad, images=5, progress=False)
    assert not r.weights_bit_exact and r.first_difference.startswith("fc1.weight: 1 of 30720 elements differ")


def test_csim_catches_a_reordered_summation(csim_runs, tmp_path):
    """fc1 adding its 256 products in reverse order (bias first at r = 255, ReLU at r = 0): same weights,
    different roundings, caught bit for bit."""
    path, _ = csim_runs("bf16")
    bad = tmp_path / "reordered"
    shutil.copytree(path, bad, ignore=shutil.ignore_patterns("csim_build"))
    kernel = bad / "firmware/pycompress_top.cpp"
    text = kernel.read_text()
    start = text.index("static void l7_fc1(")
    end = text.index("static void", start + 1)
    body = text[start:end]
    loops = ("icg < 16; icg++", "iy < 4; iy++", "ixb < 4; ixb++")  # r = (icg * 4 + iy) * 4 + ixb: all three reversed
    assert all(f"int {v[:v.index(' ')]} = 0; {v}" in body for v in loops) and "(r == 0)" in body and "(r == 255" in body
    for v in loops:
        name, bound = v.split(" < ")[0], int(v.split(" < ")[1].split(";")[0])
        body = body.replace(f"int {name} = 0; {v}", f"int {name} = {bound - 1}; {name} >= 0; {name}--")
    body = body.replace("(r == 0)", "(r == 999)").replace("(r == 255", "(r == 0").replace("(r == 999)", "(r == 255)")
    kernel.write_text(text[:start] + body + text[end:])
    r = run_csim(bad, images=200, progress=False)
    assert r.weights_bit_exact and not r.outputs_bit_exact and r.first_difference.startswith("outputs:")
