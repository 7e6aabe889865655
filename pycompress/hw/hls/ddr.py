"""Weights in DDR (`pycompress generate --weights ddr`): the packed streams as one image of 64-bit AXI beats.

Each conv/linear weight's stream is the bit string `hwlayout.pack_stream` writes
(codes MSB first in loop order); in DDR it is regrouped into 64-bit words, MSB
first (bit 63 of a word is the stream's next bit), because the AXI master reads
64-bit beats from a Zynq HP port and every beat should carry payload: a layer
moves ceil(bits / 64) beats, so DDR traffic falls with the bits, exactly as block
RAM does on chip. Segments start on DDR_ALIGN_WORDS boundaries (one 64-byte
line), so each layer is one burst sequence. The image file holds the words
little-endian (the Cortex-A9's byte order); `weights.json` gives each segment's
offset and length in words and the SHA-256 of the image.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from pycompress.core.errors import PycompressError
from pycompress.hw.layout import PackedStream
from pycompress.hw.plan.ddr import (DDR_FIFO_DEPTH, DDR_GROUP_FIFO_DEPTH, DDR_WORD_BITS, ddr_shifts,  # noqa: F401
    ddr_window, ddr_words)

DDR_ALIGN_WORDS = 8  # segments start on 64-byte lines
WEIGHTS_PORT = "weights"  # the top function's pointer argument (its offset register sits in the control bundle)
WEIGHTS_BUNDLE = "gmem"  # -> m_axi_gmem on the exported IP
IMAGE_FILE = "ddr/weights.bin"
LAYOUT_FILE = "ddr/weights.json"
LAYOUT_VERSION = 1
_CHUNK_WORDS = 16 * 65536  # 36-bit words per regrouping step (a multiple of 16: 16 x 36 = 9 x 64 bits)


def regroup(stream: PackedStream) -> np.ndarray:
    """The stream's payload bits as 64-bit words, MSB first; the last word is zero padded."""
    wb = stream.word_bits
    shifts = np.arange(wb - 1, -1, -1, dtype=np.uint64)
    parts = []
    for start in range(0, stream.words.size, _CHUNK_WORDS):
        w = stream.words[start:start + _CHUNK_WORDS]
        parts.append(((w[:, None] >> shifts) & np.uint64(1)).astype(np.uint8).reshape(-1))
    bits = np.concatenate(parts)[:stream.payload_bits] if parts else np.zeros(0, np.uint8)
    bits = np.concatenate([bits, np.zeros(-bits.size % DDR_WORD_BITS, np.uint8)])
    return np.packbits(bits).view(">u8").astype(np.uint64)


@dataclass(frozen=True)
class DdrSegment:
    """One weight's words inside the image."""

    tensor: str
    ident: str
    offset: int  # words from the image's base address
    words: int
    code_bits: int
    count: int  # codes (weights)
    lanes: int


@dataclass(frozen=True, eq=False)
class DdrImage:
    segments: tuple[DdrSegment, ...]
    words: np.ndarray  # uint64, the whole image

    def to_bytes(self) -> bytes:
        return self.words.astype("<u8").tobytes()

    @property
    def payload_bytes(self) -> int:
        """Bytes the kernel reads per image (every segment once), without the alignment gaps."""
        return sum(s.words for s in self.segments) * DDR_WORD_BITS // 8

    def layout(self) -> dict:
        data = self.to_bytes()
        return {"layout_version": LAYOUT_VERSION, "word_bits": DDR_WORD_BITS, "byte_order": "little",
                "bit_order": "MSB first: bit 63 of a word is the next bit of the stream",
                "words": int(self.words.size), "bytes": len(data), "bytes_read_per_image": self.payload_bytes,
                "sha256": hashlib.sha256(data).hexdigest(),
                "segments": [{"tensor": s.tensor, "ident": s.ident, "offset_words": s.offset, "words": s.words,
                              "code_bits": s.code_bits, "codes": s.count, "lanes": s.lanes} for s in self.segments]}


def build_image(streams: list[tuple[str, str, PackedStream, int]]) -> DdrImage:
    """(tensor, identifier, packed stream, lanes) in kernel order -> the image with aligned segments."""
    segments, parts, at = [], [], 0
    for tensor, ident, stream, lanes in streams:
        words = regroup(stream)
        assert words.size == ddr_words(stream.payload_bits)
        segments.append(DdrSegment(tensor, ident, at, int(words.size), stream.code_bits, stream.count, lanes))
        gap = -words.size % DDR_ALIGN_WORDS
        parts += [words, np.zeros(gap, np.uint64)]
        at += words.size + gap
    image = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
    return DdrImage(tuple(segments), image)


def read_image(data: bytes, words: int) -> np.ndarray:
    """The image file back as uint64 words (the C simulation's 'DDR'); its length must match the layout."""
    if len(data) != words * 8:
        raise PycompressError(f"DDR weight image has {len(data)} bytes, the kernel expects {words * 8}")
    return np.frombuffer(data, dtype="<u8").astype(np.uint64)
