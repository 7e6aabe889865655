"""HLS C++ decoder of entropy-coded codebook indices (`cluster_huffman`): render it and check it in C simulation.

Python passes plain values from the packer (`hw/coded_layout.py`: lane streams, the shared decode
table, the codebook) to `coded_decode.h.j2` (the II=1 decoder), `coded_tensors.h.j2` and
`coded_csim.cpp.j2`; `csim` compiles them with g++ and the ap_types headers of the installed hls4ml
package and returns every lane's decoded raw bits, to be compared bit for bit with the Python decode.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pycompress.core.errors import PycompressError
from pycompress.hw.coded_layout import CodedTables
from pycompress.hw.names import ModelName
from .templates import render

SOURCES = {"coded_decode.h": "coded_decode.h.j2", "coded_tensors.h": "coded_tensors.h.j2", "coded_csim.cpp": "coded_csim.cpp.j2"}


@dataclass(frozen=True)
class Lane:
    count: int
    words: np.ndarray


@dataclass(frozen=True)
class DecoderTensor:
    name: ModelName  # rendered only through |cpp_comment
    ident: str
    format: str
    total: int  # bits of one raw weight (16: unsigned short, 32: unsigned int)
    n: int
    k: int
    run_index: int
    max_run: int
    window: int
    lutw: int
    lut: np.ndarray
    book: np.ndarray
    lanes: tuple[Lane, ...]


def decoder_tensor(t: CodedTables) -> DecoderTensor:
    if t.lut_bits > 16:
        raise PycompressError(f"{t.name}: decode-table entries of {t.lut_bits} bits do not fit 16")
    if t.format.total_bits not in (16, 32):
        raise PycompressError(f"{t.name}: codebook format {t.format.name} has no decoder")
    return DecoderTensor(ModelName(t.name), t.ident, t.format.name, t.format.total_bits, int(t.decoded.size), t.k, t.run_index,
                         t.max_run, t.window, t.lut_bits, t.lut(), np.asarray(t.codebook, np.uint64),
                         tuple(Lane(ln.count, ln.code_words()) for ln in t.lanes))


def write_decoder(tables: list[CodedTables], folder: str | Path) -> Path:
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    values = [decoder_tensor(t) for t in tables]
    for out, template in SOURCES.items():
        (folder / out).write_text(render(template, tensors=values))
    return folder


def csim(tables: list[CodedTables], folder: str | Path) -> dict[str, list[np.ndarray]]:
    """Compile and run the C simulation; every tensor's lanes' decoded raw bits (storage dtype), in lane order."""
    from .project import build_and_run_decoder

    folder = write_decoder(tables, folder)
    build_and_run_decoder(folder, "coded_csim")
    out = {}
    for t in tables:
        dtype = t.format.uint_dtype.newbyteorder("<")
        out[t.name] = [np.fromfile(folder / f"{t.ident}_lane{i}.bin", dtype=dtype).astype(t.format.uint_dtype)
                       for i in range(len(t.lanes))]
    return out


# ---- on-chip memory of the lane streams, beside the fixed-width and raw kernels' at the same lanes ------------

@dataclass(frozen=True)
class CodedMemory:
    """Weight memory of one layer whose lanes decode entropy-coded indices: every lane's code stream (16-bit
    words), and the decode table and codebook, one copy per two lanes (a dual-port ROM serves two)."""

    name: str
    lanes: int
    code_bram18k: int
    code_luts: int
    table_bram18k: int
    table_luts: int

    @property
    def bram18k(self) -> int:
        return self.code_bram18k + self.table_bram18k

    @property
    def luts(self) -> int:
        return self.code_luts + self.table_luts


def coded_memory(t: CodedTables) -> CodedMemory:
    from pycompress.hw.coded_layout import CODE_WORD_BITS
    from pycompress.hw.plan.memory import Memory

    codes = [Memory(CODE_WORD_BITS, int(ln.code_words().size)) for ln in t.lanes]
    copies = -(-len(t.lanes) // 2)
    tables = [Memory(t.lut_bits, 1 << t.window), Memory(t.format.total_bits, t.k)]
    return CodedMemory(t.name, len(t.lanes), sum(m.bram18k for m in codes), sum(m.luts for m in codes),
                       copies * sum(m.bram18k for m in tables), copies * sum(m.luts for m in tables))
