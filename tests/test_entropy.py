"""Entropy-coded exponents (issue 15): Huffman construction, bit-exact codec, random access, container, accounting."""
from __future__ import annotations

import heapq

import numpy as np
import pytest
import torch

from pycompress.core import container
from pycompress.compress import CompressConfig, compress_state_dict, compressed_stats, model_stats
from pycompress.schemes.huffman import (HuffmanTensor, canonical_codes, check_lengths, decode_table, encode_bits,
    huffman_stored_bits, package_merge)
from pycompress.schemes.huffman.huffman import kraft_units
from pycompress.schemes.huffman.scheme import field_bits
from pycompress.core.errors import PycompressError
from pycompress.core.formats import get_format

UINT = {"fp16": np.uint16, "bf16": np.uint16, "fp32": np.uint32, "fp64": np.uint64}


def special_patterns(fmt_name: str) -> np.ndarray:
    """-0.0, +-0, smallest/largest subnormals, +-inf, quiet and signalling NaNs with payloads, extremes."""
    f = get_format(fmt_name)
    t, m = f.total_bits, f.mantissa_bits
    sign, exp_all = 1 << (t - 1), ((1 << f.exponent_bits) - 1) << m
    mant_all = (1 << m) - 1
    vals = [0, sign, 1, mant_all, sign | 1, exp_all, sign | exp_all, exp_all | 1, exp_all | mant_all,
            exp_all | (1 << (m - 1)) | 5, sign | exp_all | 3, (1 << m), exp_all - 1, (1 << t) - 1]
    return np.array(vals, dtype=UINT[fmt_name])


def huffman_cost(counts: np.ndarray) -> int:
    """Unconstrained Huffman total code bits (reference)."""
    heap = [(int(c), i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    total, k = 0, len(counts)
    while len(heap) > 1:
        a, _ = heapq.heappop(heap)
        b, _ = heapq.heappop(heap)
        total += a + b
        heapq.heappush(heap, (a + b, k))
        k += 1
    return total


@pytest.mark.parametrize("fmt", ["fp32", "bf16", "fp16", "fp64"])
def test_round_trip_raw_patterns(fmt):
    rng = np.random.default_rng(1)
    dt = UINT[fmt]
    for n in (1, 7, 8, 9, 63, 1000, 5003):
        bits = rng.integers(0, np.iinfo(dt).max, n, dtype=dt, endpoint=True)
        bits[: min(n, 14)] = special_patterns(fmt)[: min(n, 14)]
        for block, head in ((1, 0), (3, 1), (16, None), (4096, 3), (4096, None)):
            if fmt == "fp64" and head == 3 and n > 4096:
                continue  # 2048 exponents x 8 heads cannot all have codes of <= 12 bits
            enc = encode_bits(bits, fmt, block=block, head_bits=head)
            assert np.array_equal(enc.decode_bits(), bits), (fmt, n, block, head)
    normal = (rng.standard_normal((37, 29)) * 0.05).astype(np.float64)
    t = torch.from_numpy(normal).to(get_format(fmt).torch_dtype)
    from pycompress.core.formats import tensor_bits

    b = tensor_bits(t)
    enc = encode_bits(b, fmt)
    assert enc.shape == (37, 29) and np.array_equal(enc.decode_bits(), b)
    assert torch.equal(enc.decode().view(torch.int16 if fmt in ("bf16", "fp16") else t.dtype), t.view(torch.int16) if fmt in ("bf16", "fp16") else t)


def test_single_exponent_costs_no_code_bits():
    bits = np.full(1000, 0x3F80, np.uint16) | np.arange(1000, dtype=np.uint16) % 128  # one exponent, many mantissas
    enc = encode_bits(bits, "bf16", block=64, head_bits=0)
    assert enc.code_bits == 0 and enc.code_lengths.tolist() == [0]
    assert np.array_equal(enc.decode_bits(), bits)
    assert np.array_equal(enc.decode_blocks(3, 2), bits[192:320])


def test_narrowed_mantissa_is_lossless_or_refused():
    bits = (np.arange(4000, dtype=np.uint32) << 13) & 0xFFFFE000
    for head in (0, 2, None):
        enc = encode_bits(bits, "fp32", mantissa_bits=10, head_bits=head)
        assert enc.mantissa_bits == 10 and np.array_equal(enc.decode_bits(), bits)
    with pytest.raises(PycompressError, match="not zero"):
        encode_bits(bits | 1, "fp32", mantissa_bits=10)


def test_length_limit_kraft_and_optimality():
    rng = np.random.default_rng(2)
    fib = np.array([1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181, 6765])
    for max_len in (5, 8, 12):
        lengths = package_merge(fib, max_len)
        assert lengths.max() <= max_len
        assert kraft_units(lengths, max_len) == 1 << max_len  # complete: Kraft equality
        check_lengths(lengths, max_len)
    assert package_merge(fib, 15).max() == 15  # plain Huffman would give 19 bits
    for _ in range(200):
        n = int(rng.integers(2, 80))
        counts = rng.integers(1, 10 ** int(rng.integers(1, 7)), n)
        lengths = package_merge(counts, 15).astype(np.int64)
        if lengths.max() < 15:  # the limit did not bind: cost equals plain Huffman's
            assert int((lengths * counts).sum()) == huffman_cost(counts)
        limited = package_merge(counts, 7).astype(np.int64)
        assert limited.max() <= 7 and kraft_units(limited, 7) == 1 << 7
    with pytest.raises(PycompressError):
        package_merge(np.ones(300, np.int64), 8)  # 300 symbols need more than 8 bits
    with pytest.raises(PycompressError, match="longer than 12"):
        encode_bits(np.arange(5000, dtype=np.uint64) << np.uint64(49), "fp64", head_bits=3)


def test_encoder_honours_length_limit():
    # geometric exponent distribution: an unconstrained Huffman code would exceed 6 bits
    rng = np.random.default_rng(3)
    exps = np.minimum(rng.geometric(0.5, 200_000) + 100, 140).astype(np.uint16)
    bits = (exps << 7) | rng.integers(0, 128, exps.size, dtype=np.uint16)
    enc = encode_bits(bits, "bf16", max_len=6, head_bits=0)
    assert enc.code_lengths.max() <= 6 and np.array_equal(enc.decode_bits(), bits)
    assert kraft_units(enc.code_lengths, 6) == 1 << 6
    codes = canonical_codes(enc.code_lengths)
    table = decode_table(enc.code_lengths, 6)
    for sym, (c, l) in enumerate(zip(codes, enc.code_lengths)):  # every code word decodes to its symbol
        window = int(c) << (6 - int(l))
        assert table.symbol[window] == sym and table.length[window] == l


def test_random_access_from_offsets():
    rng = np.random.default_rng(4)
    bits = (rng.standard_normal(10_000).astype(np.float32) * 0.05).view(np.uint32)
    enc = encode_bits(bits, "fp32", block=256)
    assert enc.offsets.size == 39 and np.all(np.diff(enc.offsets) > 0)
    for first, count in ((0, 1), (5, 3), (38, 1), (39, 1), (10, 0), (0, 40)):
        assert np.array_equal(enc.decode_blocks(first, count), bits[first * 256:(first + count) * 256])


def test_container_round_trip_and_accounting(tmp_path):
    sd = {"a.weight": torch.randn(64, 33) * 0.05, "b.weight": torch.randn(9000, 3) * 0.01, "b.bias": torch.randn(3)}
    for fmt in ("bf16", "fp32", "fp16"):
        cm = compress_state_dict(sd, CompressConfig(format=fmt, scheme="huffman"))
        assert all(isinstance(t, HuffmanTensor) for t in cm.tensors.values())
        path = tmp_path / f"m-{fmt}.pcz"
        container.save(cm, path)
        back = container.load(path)
        assert isinstance(back.tensors["b.weight"], HuffmanTensor)
        for name, t in cm.state_dict().items():
            assert torch.equal(back.state_dict()[name].view(torch.uint8), t.view(torch.uint8))
        stats = compressed_stats(back)
        predicted = model_stats(sd, fmt, scheme="huffman")
        for st, layer, pred in zip(back.tensors.values(), stats.layers, predicted.layers):
            arrays = st.arrays()
            widths = st.field_bits()
            assert {k: a.nbytes for k, a in arrays.items()} == {k: (b + 7) // 8 for k, b in widths.items()}
            assert layer.compressed_bits == st.stored_bits() == sum(widths.values()) == pred.compressed_bits
            assert huffman_stored_bits(st.decode_bits(), st.fmt) == st.stored_bits()
            assert layer.compressed_bits <= layer.eq1_bits


def test_validate_refuses_bad_fields():
    bits = (np.random.default_rng(6).standard_normal(3000).astype(np.float32) * 0.05).view(np.uint32)
    enc = encode_bits(bits, "fp32", block=500)
    arrays, meta = enc.arrays(), enc.meta()
    HuffmanTensor.validate_stored(arrays, meta, "t")

    def refused(arrays=arrays, match=None, **changes):
        with pytest.raises(PycompressError, match=match):
            HuffmanTensor.validate_stored(arrays, {**meta, **changes}, "t")

    refused(scheme_version=3, match="newer")
    refused(chunk=64, match="chunk")  # a version-1 tensor has no run fields
    refused(max_len=16)
    refused(code_bits=meta["code_bits"] + 8, match="bytes")
    refused(distinct=1)
    refused(block=True)
    refused(mantissa_bits=24)
    lengths = bytearray(arrays["code_lengths"].tobytes())
    lengths[0] ^= 0x10  # change the first code length: Kraft equality broken
    refused({**arrays, "code_lengths": np.frombuffer(bytes(lengths), np.uint8)}, match="Kraft|lengths")
    offs = arrays["offsets"].copy()
    offs[0] ^= 0x80
    refused({**arrays, "offsets": offs}, match="offset")
    code = arrays["code"].copy()
    code[0] ^= 0xFF
    with pytest.raises(PycompressError):
        HuffmanTensor.validate_stored({**arrays, "code": code}, meta, "t")
    refused({k: a for k, a in arrays.items() if k != "sign"}, match="fields")


def _half_rows(rows: int, cols: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """FP32 rows, about a third converted from FP16 (low 13 mantissa bits zero), specials in both kinds."""
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((rows, cols)) * 0.05).astype(np.float32)
    half = rng.random(rows) < 0.35
    w[half] = w[half].astype(np.float16).astype(np.float32)
    bits = w.view(np.uint32).copy()
    specials = special_patterns("fp32")
    bits[~half, :specials.size] = specials  # -0.0, NaN payloads, subnormals, inf in the long rows
    bits[half, 0] = 0x80000000  # -0.0 and an FP16 subnormal/inf/NaN keep 13 zero bits
    bits[half, 1] = 0x33800000
    bits[half, 2] = 0x7F800000
    bits[half, 3] = 0x7FC02000
    return bits, half


def test_short_runs_round_trip_and_random_access():
    bits, half = _half_rows(300, 70)
    enc = encode_bits(bits, "fp32", block=512, head_bits=None)
    assert enc.version == 2 and enc.short_bits == 13 and enc.chunk == 70
    assert np.array_equal(enc.short, half)
    assert np.array_equal(enc.decode_bits().view(np.uint32), bits)
    flat = bits.reshape(-1)
    for first, count in ((0, 1), (1, 2), (7, 3), (40, 1), (41, 1), (13, 28)):  # 512 is not a multiple of 70
        assert np.array_equal(enc.decode_blocks(first, count), flat[first * 512:(first + count) * 512]), (first, count)
    plain = encode_bits(bits, "fp32", block=512, chunk=0)
    assert plain.version == 1 and np.array_equal(plain.decode_bits(), bits)
    saved = plain.stored_bits() - enc.stored_bits()
    assert saved == 13 * int(half.sum()) * 70 - 300  # 13 bits per short weight, less one flag per row
    assert {k: a.nbytes for k, a in enc.arrays().items()} == {k: (b + 7) // 8 for k, b in enc.field_bits().items()}
    assert huffman_stored_bits(bits, "fp32", block=512) == enc.stored_bits()


def test_whole_tensor_narrowing_is_automatic():
    bits = (np.random.default_rng(8).standard_normal((50, 40)).astype(np.float16).astype(np.float32)).view(np.uint32)
    enc = encode_bits(bits, "fp32")
    assert enc.mantissa_bits == 10 and enc.version == 1 and np.array_equal(enc.decode_bits(), bits)
    assert encode_bits(bits, "fp32", mantissa_bits=23).stored_bits() > enc.stored_bits()


def test_short_runs_container_and_validation(tmp_path):
    bits, half = _half_rows(64, 33, seed=9)
    sd = {"emb.weight": torch.from_numpy(bits.view(np.float32).copy())}
    cm = compress_state_dict(sd, CompressConfig(format="fp32", scheme="huffman", block=256))
    st = cm.tensors["emb.weight"]
    assert st.version == 2
    container.save(cm, tmp_path / "m.pcz")
    back = container.load(tmp_path / "m.pcz").tensors["emb.weight"]
    assert back.version == 2 and np.array_equal(back.decode_bits().view(np.uint32), bits)
    arrays, meta = st.arrays(), st.meta()
    HuffmanTensor.validate_stored(arrays, meta, "t")

    def refused(arrays=arrays, match=None, **changes):
        with pytest.raises(PycompressError, match=match):
            HuffmanTensor.validate_stored(arrays, {**meta, **changes}, "t")

    refused(short_bits=0, match="short_bits")
    refused(short_bits=24, match="short_bits")
    refused(short_bits=True, match="short_bits")
    refused(chunk=0, match="chunk")
    refused(chunk=64 * 33 + 1, match="chunk")
    refused(scheme_version=1, match="chunk|short_bits")  # version 1 has no run fields
    flags = arrays["short"].copy()
    flags[0] ^= 0x80 if not half[0] else 0x40 if not half[1] else 0x20  # one more short row: mantissa too long
    refused({**arrays, "short": flags}, match="bytes|length")
    refused({k: a for k, a in arrays.items() if k != "short"}, match="fields")
    m = arrays["mantissa"].copy()
    if st.field_bits()["mantissa"] % 8:
        m[-1] |= 1
        refused({**arrays, "mantissa": m}, match="padding")


def test_field_bits_formula():
    f = get_format("bf16")
    assert field_bits(10_000, f, 12, 7, 25_000, 4096, 2)["mantissa"] == 50_000
    bits = field_bits(10_000, f, 12, 7, 25_000, 4096)
    assert bits == {"symbols": 96, "code_lengths": 48, "code": 25_000, "sign": 10_000, "mantissa": 70_000,
                    "offsets": 2 * 15}


def test_cli_compress_huffman(tmp_path, capsys):
    from pycompress.cli.main import main
    from safetensors.torch import save_file

    src = tmp_path / "m.safetensors"
    save_file({"w": torch.randn(300, 40) * 0.05}, str(src))
    assert main(["compress", str(src), "-o", str(tmp_path / "m.pcz"), "--scheme", "huffman"]) == 0
    assert "entropy-coded" in capsys.readouterr().out
    assert main(["stats", str(tmp_path / "m.pcz")]) == 0
    out = capsys.readouterr().out
    assert "Eq.1 bits" in out and "bound bits" in out


@pytest.mark.csim
@pytest.mark.parametrize("fmt", ["bf16", "fp32"])
def test_hls_decoder_csim_every_lenet_weight(fmt, tmp_path):
    """The II=1 HLS decoder, compiled with g++, decodes every LeNet weight bit for bit (offsets every 1024)."""
    from pycompress.cli.demo import default_model
    from pycompress.hw.hls.huffman import csim

    cm = compress_state_dict(default_model(), CompressConfig(format=fmt, scheme="huffman", block=1024))
    got = csim(cm.tensors, tmp_path / "hls")
    assert sum(v.size for v in got.values()) == 44_190
    assert any(st.head_bits for st in cm.tensors.values()) and any(not st.head_bits for st in cm.tensors.values())
    for name, st in cm.tensors.items():
        assert np.array_equal(got[name], st.decode_bits().reshape(-1)), name


def test_kernel_lane_streams_recode_the_same_weights(lenet_state_dict):
    """Each HLS lane's stream (its outputs' weights in the kernel's loop order, coded with the tensor's own code)
    decodes to exactly those weights, and the lanes' code bits add up to the file's code stream."""
    from pycompress.hw.hls.huffman import reencode
    from pycompress.hw.huffman_layout import huffman_tables
    from pycompress.hw.layout import lane_split_order

    cm = compress_state_dict({"fc2.weight": lenet_state_dict["fc2.weight"]}, CompressConfig(format="fp32", scheme="huffman"))
    t = huffman_tables(cm)[0]
    flat = t.tensor.decode_bits().reshape(-1)
    order = lane_split_order(84, 120, 4)
    lanes = [reencode(t, row) for row in order]
    for row, lane in zip(order, lanes):
        assert np.array_equal(lane.decode_bits(), flat[row])
    assert sum(lane.code_bits for lane in lanes) == t.tensor.code_bits


def test_generate_refuses_ddr_weights_for_huffman(lenet_state_dict):
    from pycompress.hw.hls.context import template_values
    from pycompress.hw.plan import kernel_model

    cm = compress_state_dict(lenet_state_dict, CompressConfig(format="bf16", scheme="huffman"))
    with pytest.raises(PycompressError, match="on-chip ROMs only"):
        template_values(kernel_model(cm), weights="ddr")


@pytest.mark.csim
def test_generate_and_csim_of_a_huffman_container(lenet_state_dict, tmp_path, capsys):
    """`pycompress generate` + `csim` on an entropy-coded LeNet: per-lane Huffman decoders in the kernel, every
    weight decoded bit-exact, outputs bit-exact vs the numpy reference, 100% top-1 agreement."""
    from pycompress.cli.main import main

    cm = compress_state_dict(lenet_state_dict, CompressConfig(format="bf16", scheme="huffman"))
    container.save(cm, tmp_path / "m.pcz")
    assert main(["generate", str(tmp_path / "m.pcz"), "-o", str(tmp_path / "hls")]) == 0
    weights_h = (tmp_path / "hls" / "firmware" / "weights.h").read_text()
    assert weights_h.count("// lane ") >= 6  # one decoder per lane, more than one lane in some layer
    capsys.readouterr()
    assert main(["csim", str(tmp_path / "hls"), "--images", "100"]) == 0  # make sim runs all 1,000
    out = capsys.readouterr().out
    assert "44,426 decoded weights bit-exact: True" in out and "bit-exact vs numpy reference: True" in out
    assert "agreement with PyTorch (network rebuilt from the layer graph) 100.00%" in out


def test_random_edits_of_a_v2_tensor_are_refused_or_decode():
    """300 random edits (metadata integers, one stored byte): validate_stored refuses, or decode runs to the end."""
    bits, _ = _half_rows(40, 50, seed=11)
    st = encode_bits(bits, "fp32", block=300)
    assert st.version == 2
    arrays, meta = st.arrays(), st.meta()
    rng = np.random.default_rng(12)
    keys = [k for k, v in meta.items() if type(v) is int]
    passed = 0
    for _ in range(300):
        a = {k: v.copy() for k, v in arrays.items()}
        m = dict(meta)
        if rng.random() < 0.5:
            k = keys[int(rng.integers(len(keys)))]
            m[k] = int(m[k] + rng.choice([-2, -1, 1, 2, 7]))
        else:
            f = [k for k in a if a[k].size][int(rng.integers(len([k for k in a if a[k].size])))]
            a[f][int(rng.integers(a[f].size))] ^= np.uint8(1 << int(rng.integers(8)))
        try:
            HuffmanTensor.validate_stored(a, m, "t")
        except PycompressError:
            continue
        passed += 1
        HuffmanTensor.from_stored(a, m).decode_bits()  # must not raise or read out of bounds
    assert passed > 10  # sign/mantissa byte flips stay valid (and decode to other weights)
