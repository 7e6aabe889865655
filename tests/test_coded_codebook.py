"""The `cluster_huffman` scheme: codebook indices through a canonical Huffman code with runs.

Round trips (every k, sparsity and run limit), exact stored-bit accounting, and the validation
boundary: crafted containers (recomputed checksums) refused in one line by the API and the CLI,
random metadata edits and random flips of stream bytes either refused or decoded without error.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from pycompress.core import container
from pycompress.core.errors import PycompressError
from pycompress.core.formats import tensor_bits
from pycompress.schemes.codebook import make_clustered
from pycompress.schemes.coded_codebook import (CodedClusterTensor, encode_indices, from_clustered, lut, symbol_counts,
    symbol_stream)
from test_hostile_containers import HOSTILE_VALUES, _check_refused, _mutations, forge, unpack


def sparse_indices(rng, n: int, k: int, zero_share: float) -> np.ndarray:
    return np.where(rng.random(n) < zero_share, 0, rng.integers(1, max(k, 2), n)) % k


@pytest.mark.parametrize("k", [1, 2, 3, 7, 16, 256])
@pytest.mark.parametrize("zero_share", [0.0, 0.5, 0.97, 1.0])
def test_round_trip_and_exact_bits(k, zero_share):
    rng = np.random.default_rng(k)
    book = np.sort(rng.integers(0, 1 << 16, k)).astype(np.uint16)
    idx = sparse_indices(rng, 3001, k, zero_share)
    t = encode_indices(book, idx, (3001,), "bf16")
    np.testing.assert_array_equal(t.indices(), idx)
    np.testing.assert_array_equal(t.decode_bits(), book[idx])
    assert t.stored_bits() == 16 * k + 4 * (k + t.max_run) + t.code_bits
    assert sum(a.nbytes for a in t.arrays().values()) == 2 * k + (4 * (k + t.max_run) + 7) // 8 + (t.code_bits + 7) // 8
    back = container.from_bytes(container.to_bytes(container.CompressedModel("bf16", ("w",), {"w": t}, {}))).tensors["w"]
    assert isinstance(back, CodedClusterTensor)
    np.testing.assert_array_equal(back.decode_bits(), book[idx])


@pytest.mark.parametrize("max_run", [0, 1, 2, 5, 64, 256])
def test_every_run_limit_and_symbol_counts(max_run):
    rng = np.random.default_rng(max_run)
    idx = sparse_indices(rng, 5000, 5, 0.9)
    sym = symbol_stream(idx, 5, 0, max_run)
    np.testing.assert_array_equal(np.bincount(sym, minlength=5 + max_run), symbol_counts(idx, 5, 0, max_run))
    t = encode_indices(np.arange(5, dtype=np.uint32) << 20, idx, (50, 100), "fp32", max_run=max_run)
    assert t.max_run == max_run
    np.testing.assert_array_equal(t.indices(), idx)


def test_runs_shrink_sparse_layers_below_one_bit_per_weight():
    """The point of runs: a Huffman code of single indices cannot go below one bit per weight."""
    idx = sparse_indices(np.random.default_rng(0), 30720, 8, 0.95)
    t = encode_indices(np.arange(8, dtype=np.uint16), idx, (idx.size,), "bf16")
    fixed = make_clustered(np.arange(8, dtype=np.uint16), idx, (idx.size,), "bf16")
    p = np.bincount(idx) / idx.size
    bound = -idx.size * float((p * np.log2(p)).sum())  # i.i.d. indices: no code beats their entropy on average
    assert t.max_run > 0 and 0.98 * bound < t.code_bits < 1.25 * bound < idx.size < fixed.stored_bits()


def test_single_symbol_and_tiny_tensors():
    for idx in (np.zeros(1, int), np.full(7, 2), np.array([1])):
        t = encode_indices(np.array([0, 5, 9], np.uint32), idx, (idx.size,), "fp32")
        np.testing.assert_array_equal(t.indices(), idx)
        assert (t.code_lengths > 0).sum() >= 1


def test_from_clustered_keeps_the_weights(lenet_state_dict):
    from pycompress.sharing.prune import PrunedClusterer, prune

    w = prune(lenet_state_dict["fc1.weight"], 0.9)
    ct = PrunedClusterer(w).clustered(8, "bf16")
    t = from_clustered(ct)
    assert np.array_equal(t.decode_bits(), ct.decode_bits()) and t.stored_bits() < ct.stored_bits() / 2


def test_decode_table_marks_windows_without_a_code():
    one = lut(np.array([0, 1, 0], np.uint8), 3)
    assert list(one.length) == [1, 1, 1, 1, 0, 0, 0, 0] and set(one.symbol[:4]) == {1}


def test_bad_inputs_one_line():
    book = np.arange(4, dtype=np.uint32)
    with pytest.raises(PycompressError, match="beyond codebook"):
        encode_indices(book, np.array([0, 4]), (2,), "fp32")
    with pytest.raises(PycompressError, match="codebook format"):
        encode_indices(book.astype(np.uint16), np.zeros(2, int), (2,), "fp16")
    with pytest.raises(PycompressError, match="indices for shape"):
        encode_indices(book, np.zeros(3, int), (2,), "fp32")
    with pytest.raises(PycompressError, match="run symbols"):
        encode_indices(book, np.zeros(3, int), (3,), "fp32", max_run=300)


# ---------------------------------------------------------------- the validation boundary

@pytest.fixture(scope="module")
def coded_blob() -> bytes:
    rng = np.random.default_rng(1)
    book = tensor_bits(torch.tensor([0.0, -0.5, 0.25, 1.5]))
    w = encode_indices(book, sparse_indices(rng, 600, 4, 0.8), (20, 30), "fp32")
    v = encode_indices(book[:3], rng.integers(0, 3, 9), (9,), "fp32", max_run=0)
    return container.to_bytes(container.CompressedModel("fp32", ("w", "v", "b"), {"w": w, "v": v},
                                                        {"b": torch.ones(3)}))


def _coded(fn):
    def edit(info, entries):
        fn(info["tensors"]["w"], entries)
    return edit


def _flip_last_code_bit(m, e):
    code = e["w::code"].copy()
    code[-1] ^= 1 << (-m["code_bits"] % 8)  # the last stream bit: the code no longer ends where it should
    e["w::code"] = code


CASES = {
    "run_index_beyond": (_coded(lambda m, e: m.__setitem__("run_index", 4)), r"run_index = 4 outside 0..3"),
    "max_run_300": (_coded(lambda m, e: m.__setitem__("max_run", 300)), r"max_run = 300 outside 0..256"),
    "max_len_16": (_coded(lambda m, e: m.__setitem__("max_len", 16)), r"max_len = 16 outside 1..15"),
    "k_grows": (_coded(lambda m, e: m.__setitem__("k", 5)), r"field codebook holds 16 bytes, 20 expected"),
    "code_short": (_coded(lambda m, e: (m.__setitem__("code_bits", m["code_bits"] - 8),
                                        e.__setitem__("w::code", e["w::code"][:-1].copy()))),
                   r"ends before the last weight|ends at bit|code word|past the last|padding"),
    "code_bytes_short": (_coded(lambda m, e: e.__setitem__("w::code", e["w::code"][:-1].copy())), r"holds \d+ bytes, \d+ expected"),
    "code_long": (_coded(lambda m, e: (m.__setitem__("code_bits", m["code_bits"] + 8),
                                       e.__setitem__("w::code", np.concatenate([e["w::code"], np.zeros(1, np.uint8)])))),
                  r"ends at bit"),
    "lengths_not_kraft": (_coded(lambda m, e: e.__setitem__("w::code_lengths", np.full_like(e["w::code_lengths"], 0x11))),
                          r"Kraft|code length"),
    "lengths_none": (_coded(lambda m, e: e.__setitem__("w::code_lengths", np.zeros_like(e["w::code_lengths"]))),
                     r"no symbol has a code"),
    "padding_bits": (_coded(lambda m, e: e.__setitem__("w::code", e["w::code"] | np.uint8(1)) if m["code_bits"] % 8 else
                            m.__setitem__("code_bits", m["code_bits"] - 1)), r"padding|ends|code word|past"),
    "format_fp16": (_coded(lambda m, e: m.__setitem__("format", "fp16")), r"not one of fp32, bf16"),
    "extra_key": (_coded(lambda m, e: m.__setitem__("chunk", 4)), r"unexpected 'chunk'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_crafted_coded_container_refused(case, coded_blob, tmp_path):
    edit, pattern = CASES[case]
    blob = forge(coded_blob, edit)
    with pytest.raises(PycompressError, match=pattern):
        container.from_bytes(blob)
    path = tmp_path / f"{case}.pcz"
    path.write_bytes(blob)
    _check_refused(path, tmp_path, pattern, case in ("run_index_beyond", "code_short"))


def test_whatever_passes_validation_decodes(coded_blob):
    """Fuzz: one metadata value replaced, or stream bytes flipped; refused with PycompressError or decoded cleanly."""
    rng = np.random.default_rng(0)
    info, entries = unpack(coded_blob)
    spots = len(_mutations(info, rng))
    refused = decoded = 0
    for trial in range(300):
        if trial % 2:
            spot, value = int(rng.integers(spots)), HOSTILE_VALUES[int(rng.integers(len(HOSTILE_VALUES)))]

            def edit(i, e, spot=spot, value=value):
                node, key = _mutations(i, rng)[spot]
                node[key] = copy.deepcopy(value)
        else:
            key = ("w::code", "w::code_lengths", "v::code")[trial % 3]
            pos, bit = int(rng.integers(entries[key].size)), int(rng.integers(8))

            def edit(i, e, key=key, pos=pos, bit=bit):
                a = e[key].copy()
                a[pos] ^= np.uint8(1 << bit)
                e[key] = a
        try:
            blob = forge(coded_blob, edit)
        except (KeyError, TypeError, AttributeError, IndexError):
            continue
        try:
            cm = container.from_bytes(blob)
        except PycompressError:
            refused += 1
            continue
        cm.state_dict()
        decoded += 1
    assert refused > 100 and decoded > 0
