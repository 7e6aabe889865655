"""RTL images and parameters of the entropy-coded codebook decoder (rtl/coded_decoder.sv), from the packer
(`hw/coded_layout.py`) the HLS decoder uses.

A `CodedShape` is what a decoder is built with: the tensor's own (`exact_shape`: what is
synthesised) or a wider one, one simulator build per format, that any tensor fits. For a wider
build the images relabel the symbols, which changes no weight: the run entry moves to the build's
RUN_INDEX (entries swapped in the codebook image and in the table's index symbols) and run symbols
start at the build's K. Per lane: `<ident>_lane<p>_code.mem` (16-bit words); per tensor
`<ident>_lut.mem` (symbol << 4 | length) and `<ident>_book.mem`, one hex word per line for $readmemh.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pycompress.core.errors import PycompressError
from pycompress.hw.coded_layout import CODE_WORD_BITS, LENGTH_FIELD, CodedTables, symbol_width
from .images import RTL_DIR, _env, hex_lines, rtl_sources

RTL_SOURCES = ("code_window.sv", "coded_decoder.sv")
MAX_WINDOW = 15


def coded_sources() -> list[Path]:
    return [*rtl_sources(), *(RTL_DIR / name for name in RTL_SOURCES)]


@dataclass(frozen=True)
class CodedShape:
    format: str
    k: int
    run_index: int
    sym_bits: int
    window: int
    count_bits: int = 16

    def fits(self, t: CodedTables) -> bool:
        return (t.format.name == self.format and t.k <= self.k and t.window <= self.window <= MAX_WINDOW
                and symbol_width(self.k, self.k + t.max_run) <= self.sym_bits and self.run_index < self.k
                and max(ln.count for ln in t.lanes) < 1 << self.count_bits)

    def parameters(self, exp_bits: int, man_bits: int) -> dict[str, int]:
        return {"EXP_BITS": exp_bits, "MAN_BITS": man_bits, "K": self.k, "RUN_INDEX": self.run_index,
                "SYM_BITS": self.sym_bits, "L": self.window, "COUNT_BITS": self.count_bits}


def exact_shape(t: CodedTables) -> CodedShape:
    return CodedShape(t.format.name, t.k, t.run_index, t.symbol_bits, t.window,
                      max(1, max(ln.count for ln in t.lanes).bit_length()))


def widest_shape(fmt: str, window: int = 12, k: int = 256, max_run: int = 256) -> CodedShape:
    return CodedShape(fmt, k, 0, symbol_width(k, k + max_run), window)


def relabel(t: CodedTables, shape: CodedShape) -> tuple[np.ndarray, np.ndarray]:
    """(decode table at the shape's window, codebook image of shape.k entries) for a build of `shape`."""
    if not shape.fits(t):
        raise PycompressError(f"{t.name}: a decoder built for {shape} cannot hold this tensor")
    from pycompress.schemes.coded_codebook import lut

    swap = np.arange(t.k)  # old index -> new: the run entry and the build's RUN_INDEX trade places
    if shape.run_index < t.k:
        swap[shape.run_index] = t.run_index
    swap[t.run_index] = shape.run_index

    table = lut(t.lengths, shape.window)
    sym = table.symbol.astype(np.int64)
    new = np.where(sym < t.k, swap[np.minimum(sym, t.k - 1)], sym - t.k + shape.k)
    entries = (new.astype(np.uint64) << np.uint64(LENGTH_FIELD)) | table.length.astype(np.uint64)
    book = np.zeros(shape.k, np.uint64)
    book[swap] = np.asarray(t.codebook, np.uint64)
    return entries, book


def lane_images(t: CodedTables, shape: CodedShape | None = None) -> dict[str, str]:
    """File name -> text: every lane's code words, the decode table and the codebook for a build of `shape`."""
    shape = shape or exact_shape(t)
    env = _env()
    mem = env.get_template("table.mem.j2")
    entries, book = relabel(t, shape)
    files = {f"{t.ident}_lut.mem": mem.render(ident=t.ident, table="decode", depth=int(entries.size),
                                              width=shape.sym_bits + LENGTH_FIELD,
                                              body=hex_lines(entries, shape.sym_bits + LENGTH_FIELD)),
             f"{t.ident}_book.mem": mem.render(ident=t.ident, table="codebook", depth=shape.k, width=t.format.total_bits,
                                               body=hex_lines(book, t.format.total_bits))}
    for p, lane in enumerate(t.lanes):
        w = lane.code_words()
        files[f"{t.ident}_lane{p}_code.mem"] = mem.render(ident=t.ident, table=f"lane {p} code-stream word", depth=int(w.size),
                                                          width=CODE_WORD_BITS, body=hex_lines(w, CODE_WORD_BITS))
    return files
