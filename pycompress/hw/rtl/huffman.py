"""RTL memory images and parameters of the entropy decoder (rtl/huffman_decoder.sv, huffman_streamer.sv).

All values come from `entropy.layout.HuffmanTables`, the packer the HLS header uses.
Per tensor: `<ident>_code.mem` (16-bit code words), `<ident>_lut.mem` (decode table:
symbol << 4 | length), `<ident>_sign.mem`, `<ident>_mantissa.mem` (one field per weight)
and `<ident>_offsets.mem`, one hex word per line for `$readmemh`, plus
`huffman_layers.svh` (localparams). Text comes from rtl/templates/.

A `DecoderShape` is the field layout a decoder is built with: `exact_shape` for one
tensor (what is synthesised), or a wider one (a simulator build per format) that any
tensor of the format fits, its fields placed by the images (symbols padded below with
zeros, mantissa rests shifted up), since the decoder ORs the fields together.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pycompress.core.container import CompressedModel
from pycompress.core.errors import PycompressError
from pycompress.core.fileio import OutputFolder
from pycompress.core.formats import get_format
from .images import BLOCK_MIN_BITS, RTL_DIR, TensorImage, _env, hex_lines, rtl_sources, write_files
from pycompress.hw.huffman_layout import CODE_WORD_BITS, HuffmanTables, huffman_tables, is_huffman

RTL_SOURCES = ("code_window.sv", "huffman_decoder.sv", "huffman_streamer.sv")
INCLUDE = "huffman_layers.svh"
TOP = "huffman_weights"  # one huffman_streamer per layer, written by `pycompress rtl` for a huffman container
RTL_FOLDER = OutputFolder("RTL image folder", key_file=INCLUDE)
MAX_WINDOW = 15  # code lengths are 4-bit fields in the table


def huffman_sources() -> list[Path]:
    """rtl/ sources of the decoder and streamer, dependencies first."""
    return [*rtl_sources(), *(RTL_DIR / name for name in RTL_SOURCES)]


@dataclass(frozen=True)
class DecoderShape:
    """Field widths of a decoder build."""

    format: str
    upper_bits: int  # exponent + head bits of a table symbol
    mant_w: int  # mantissa-rest ROM width
    mant_shift: int  # its position above bit 0
    window: int  # decode-table address bits
    depth: int  # sign/mantissa ROM entries

    def fits(self, t: HuffmanTables) -> bool:
        f = t.format
        return (self.format == f.name and t.upper_bits <= self.upper_bits <= f.exponent_bits + f.mantissa_bits
                and self.mant_shift <= t.drop and t.drop + t.rest_bits <= self.mant_shift + self.mant_w
                and t.window <= self.window <= MAX_WINDOW and t.depth <= self.depth)


def exact_shape(t: HuffmanTables) -> DecoderShape:
    return DecoderShape(t.format.name, t.upper_bits, t.rest_bits, t.drop, t.window, t.depth)


def widest_shape(fmt: str, head_bits: int, window: int, depth: int) -> DecoderShape:
    """A build any tensor of `fmt` with at most `head_bits` head bits, codes <= window and depth weights fits."""
    f = get_format(fmt)
    return DecoderShape(f.name, f.exponent_bits + head_bits, f.mantissa_bits, 0, window, depth)


@dataclass(frozen=True)
class DecoderParams(TensorImage):
    """Parameters and image names of one tensor's decoder and streamer."""

    name: str
    ident: str
    shape: DecoderShape
    exp_bits: int
    man_bits: int
    n: int
    block: int
    num_blocks: int
    offset_bits: int
    code_bits: int
    code_depth: int

    @property
    def block_bits(self) -> int:
        """Width of the streamer's block index ($clog2(NUM_BLOCKS), at least 1)."""
        return max(1, (self.num_blocks - 1).bit_length())

    @property
    def lut_width(self) -> int:
        return self.shape.upper_bits + 4

    def file(self, field: str) -> str:
        return f"{self.ident}_{field}.mem"

    def rom_block(self, depth: int, width: int) -> int:
        """1 if a ROM of this size should be block RAM, 0 for LUTs (rtl_images.BLOCK_MIN_BITS)."""
        return int(depth * width >= BLOCK_MIN_BITS)

    def decoder_parameters(self) -> dict[str, object]:
        """Overrides of `huffman_decoder` (a simulator build or Yosys chparam)."""
        s = self.shape
        return {"EXP_BITS": self.exp_bits, "MAN_BITS": self.man_bits, "UPPER_BITS": s.upper_bits, "MANT_W": s.mant_w,
                "MANT_SHIFT": s.mant_shift, "L": s.window, "DEPTH": s.depth,
                "LUT_BLOCK": self.rom_block(1 << s.window, self.lut_width), "SIGN_BLOCK": self.rom_block(s.depth, 1),
                "MANTISSA_BLOCK": self.rom_block(s.depth, s.mant_w)}

    def decoder_files(self) -> dict[str, str]:
        files = {"LUT_FILE": self.file("lut"), "SIGN_FILE": self.file("sign")}
        if self.shape.mant_w:
            files["MANTISSA_FILE"] = self.file("mantissa")
        return files

    def streamer_parameters(self) -> dict[str, object]:
        """Overrides of `huffman_streamer` (the layer on chip)."""
        return {**self.decoder_parameters(), "BLOCK": self.block, "NUM_BLOCKS": self.num_blocks,
                "OFFSET_BITS": self.offset_bits, "CODE_BITS": self.code_bits, "CODE_DEPTH": self.code_depth,
                "CODE_BLOCK": self.rom_block(self.code_depth, CODE_WORD_BITS)}

    def streamer_files(self) -> dict[str, str]:
        return {**self.decoder_files(), "CODE_FILE": self.file("code"), "OFFSET_FILE": self.file("offsets")}


def decoder_params(t: HuffmanTables, shape: DecoderShape | None = None) -> DecoderParams:
    shape = shape or exact_shape(t)
    if not shape.fits(t):
        raise PycompressError(f"{t.name}: a decoder built for {shape} cannot decode it ({exact_shape(t)})")
    f = t.format
    return DecoderParams(t.name, t.ident, shape, f.exponent_bits, f.mantissa_bits, t.depth, t.tensor.block,
                         t.num_blocks, t.offset_bits, t.tensor.code_bits, int(t.code_words().size))


def layer_images(t: HuffmanTables, shape: DecoderShape | None = None, env=None) -> dict[str, str]:
    """The memory images of one tensor for a decoder of `shape` (default: its exact shape): file name -> text."""
    env = env or _env()
    p = decoder_params(t, shape)
    s = p.shape
    mem = env.get_template("table.mem.j2")
    offsets = t.tensor.offsets.astype(np.uint64) if t.tensor.offsets.size else np.zeros(1, np.uint64)
    tables = [("code", "code-stream word", t.code_words(), CODE_WORD_BITS),
              ("lut", "decode", t.lut(s.window, s.upper_bits), p.lut_width),
              ("sign", "sign", t.sign(), 1),
              ("offsets", "block offset", offsets, p.offset_bits)]
    if s.mant_w:
        tables.append(("mantissa", "mantissa rest", t.rest() << np.uint64(t.drop - s.mant_shift), s.mant_w))
    return {p.file(field): mem.render(ident=t.ident, table=label, depth=int(v.size), width=w, body=hex_lines(v, w))
            for field, label, v, w in tables}


def render_huffman_rtl(tables: list[HuffmanTables]) -> dict[str, str]:
    """Images of every tensor and the parameter include: file name -> text. Deterministic."""
    if not tables:
        raise PycompressError("the model has no entropy-coded tensors: nothing to put in RTL tables")
    env = _env()
    files: dict[str, str] = {}
    for t in tables:
        files.update(layer_images(t, env=env))
    layers = [decoder_params(t) for t in tables]
    files[INCLUDE] = env.get_template("huffman_layers.svh.j2").render(layers=layers)
    files[f"{TOP}.sv"] = env.get_template("huffman_weights.sv.j2").render(top=TOP, include=INCLUDE, layers=layers)
    return files


def write_huffman_rtl(model: CompressedModel, out_dir: str | os.PathLike) -> dict[str, str]:
    """Write the model's entropy-decoder images and include into `out_dir` (replaced whole)."""
    files = render_huffman_rtl(huffman_tables(model))
    write_files(files, out_dir)
    return files


__all__ = ["DecoderParams", "DecoderShape", "INCLUDE", "RTL_FOLDER", "TOP", "decoder_params", "is_huffman", "exact_shape", "huffman_sources", "layer_images",
           "render_huffman_rtl", "widest_shape", "write_huffman_rtl"]
