"""The one packer (hwlayout.pack_stream): lossless, window-bounded, in loop order, shared by HLS header and RTL image."""
from __future__ import annotations

import numpy as np
import pytest

from pycompress.compress import CompressConfig, compress_state_dict
from pycompress.core.errors import PycompressError
from pycompress.hw.layout import (STREAM_WORD_BITS, lane_order, layer_tables, pack_stream, raw_codes, stream_codes,
    unpack_stream, window_words)
from pycompress.hw.rtl.images import render_rtl, stream_image


@pytest.mark.parametrize("bits,lanes", [(1, 1), (3, 7), (12, 3), (12, 4), (15, 12), (16, 12), (32, 5)])
def test_pack_roundtrip_and_window(bits, lanes):
    codes = np.random.default_rng(bits * 100 + lanes).integers(0, 1 << bits, size=lanes * 97, dtype=np.uint64)
    s = pack_stream(codes, bits, lanes=lanes)
    assert np.array_equal(unpack_stream(s), codes) and int(s.words.max()) < 1 << STREAM_WORD_BITS
    k = window_words(bits, lanes)
    for j in range(97):  # every group lies inside k words from its first, and the padding keeps them in the array
        first, last = (j * bits * lanes) // STREAM_WORD_BITS, (j * bits * lanes + bits * lanes - 1) // STREAM_WORD_BITS
        assert last - first < k and first + k <= s.words.size


def test_word_layout_is_msb_first():
    s = pack_stream(np.array([0b101, 0b011], np.uint64), 3)
    assert int(s.words[0]) == 0b101011 << 30


def test_lane_order_and_refusals():
    # (outputs 4, reduction 3, 2 lanes): position (r, g, p) holds weight[p*2 + g, r]
    assert lane_order(4, 3, 2).tolist() == [0, 6, 3, 9, 1, 7, 4, 10, 2, 8, 5, 11]
    with pytest.raises(PycompressError):
        lane_order(6, 2, 4)
    with pytest.raises(PycompressError):
        pack_stream(np.array([8], np.uint64), 3)


def test_codes_and_rtl_image_come_from_the_same_packer(lenet_state_dict):
    cm = compress_state_dict(lenet_state_dict, CompressConfig("bf16"))
    files = render_rtl(layer_tables(cm))
    for t in layer_tables(cm):
        codes, bits = stream_codes(t)
        assert bits == 1 + t.index_bits + t.mantissa_bits
        raw, width = raw_codes(t)
        assert width == 16 and np.array_equal(raw, cm.tensors[t.name].decode_bits().reshape(-1).astype(np.uint64))
        name, text = stream_image(t)
        assert files[name] == text
        rows = [int(r, 16) for r in text.splitlines() if not r.startswith("//")]
        assert rows == pack_stream(codes, bits).words.tolist()
