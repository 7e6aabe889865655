"""The kernel's tables: every conv/linear weight and bias as codes in loop order, one memory word per group.

Codes per kernel: `compressed` (the container's scheme: sign|index|mantissa for exponent sharing, the
codebook index for clustering), `raw` (the raw bits in the storage format: the like-for-like baseline),
`offset` (sign | exponent minus the tensor's smallest | stored mantissa: the offset-exponent baseline) and
`float` (float32 bits). Tensors the container keeps raw (`cm.raw`) are float32 bits in every kernel.
The packing is `pycompress.hw.lanewords` (constant field offsets, RAMB18-width columns); with
`--weights ddr` the same codes go to DDR as a bit stream (`ddr.py`) read by one AXI master per weight.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pycompress.core.errors import PycompressError
from pycompress.core.formats import get_format
from pycompress.hw.huffman_layout import HuffmanTables
from pycompress.hw.lanewords import Column, column_widths, in_bram, pack_lane_words, table_memory
from pycompress.hw.layout import ClusterTables, ExpShareTables, lane_order, offset_codes, pack_stream, raw_codes, stream_codes
from pycompress.hw.names import ModelName
from .ddr import DdrImage, build_image, ddr_shifts, ddr_window

TABLE_KERNELS = ("compressed", "raw", "offset", "float")


@dataclass(frozen=True)
class Codes:
    """One tensor's codes for one kernel (C order) and what its decoder needs."""

    codes: np.ndarray
    bits: int
    scheme: str  # expshare offset cluster raw float huffman
    format: str  # the storage format the codes decode to
    decoder: dict  # template values of the decoder (exponent ROM, codebook, field widths)
    rom_bits: int = 0  # decoder ROM beside the table (exponent ROM, codebook), replicated per lane in LUTs


def tensor_codes(name: str, km, kernel: str) -> Codes:
    """The codes of tensor `name` in `kernel` (see the module docstring)."""
    t = km.tables.get(name)
    if kernel not in TABLE_KERNELS:
        raise PycompressError(f"unknown kernel {kernel!r} (choose from {', '.join(TABLE_KERNELS)})")
    if t is None or kernel == "float":
        return Codes(km.params[name].view(np.uint32).reshape(-1).astype(np.uint64), 32, "float", "fp32", {})
    f = t.format
    widths = {"format_exponent_bits": f.exponent_bits, "format_mantissa_bits": f.mantissa_bits}
    if isinstance(t, HuffmanTables):
        bits = t.tensor.decode_bits().reshape(-1).astype(np.uint64)
        if kernel == "compressed":
            from .huffman import stream_codes_for
            codes, b, scheme, fmt, _ = stream_codes_for(t, kernel)
            return Codes(codes, b, "huffman", fmt, widths)
        mant = t.tensor.mantissa_bits
    else:
        bits = raw_codes(t)[0]
        mant = getattr(t, "mantissa_bits", f.mantissa_bits)
    if kernel == "raw":
        return Codes(bits, f.total_bits, "raw", f.name, widths)
    if kernel == "offset":
        if isinstance(t, ClusterTables):
            return Codes(bits, f.total_bits, "raw", f.name, widths)
        o = offset_codes(bits, f, mant)
        return Codes(o.codes, o.code_bits, "offset", f.name,
                     {**widths, "offset_bits": o.exp_bits, "offset_mask": (1 << o.exp_bits) - 1, "emin": o.emin,
                      "mantissa_bits": o.mantissa_bits, "mantissa_mask": (1 << o.mantissa_bits) - 1,
                      "mantissa_shift": o.mantissa_shift})
    codes, b = stream_codes(t)
    if isinstance(t, ExpShareTables):
        return Codes(codes, b, "expshare", f.name,
                     {**widths, "index_bits": t.index_bits, "mantissa_bits": t.mantissa_bits,
                      "mantissa_shift": t.mantissa_shift, "exponent_bits": f.exponent_bits,
                      "exp_depth": int(t.exponent_rom.size), "exponent_rom": t.exponent_rom,
                      "index_mask": (1 << t.index_bits) - 1, "mantissa_mask": (1 << t.mantissa_bits) - 1,
                      "exponent_mask": (1 << f.exponent_bits) - 1}, int(t.exponent_rom.size) * f.exponent_bits)
    return Codes(codes, b, "cluster", f.name, {**widths, "index_bits": t.index_bits, "k": int(t.codebook_rom.size),
                                               "codebook": t.codebook_rom, "format_bits": f.total_bits},
                 int(t.codebook_rom.size) * f.total_bits)


def table_values(name: str, ident: str, role: str, km, kernel: str, outputs: int, reduction: int, lanes: int) -> dict:
    """Template values of one table (`table.h.j2`): `outputs` x `reduction` values read `lanes` per word."""
    c = tensor_codes(name, km, kernel)
    values = km.params[name]
    base = {"name": ModelName(name), "tensor": name, "ident": ident, "role": role, "size": int(values.size),
            "shape": list(values.shape), "scheme": c.scheme, "format": c.format, "lanes": lanes,
            "groups": outputs // lanes, "reduction": reduction, "code_bits": c.bits, "code_mask": (1 << c.bits) - 1,
            "ddr": False, **c.decoder}
    if c.scheme == "huffman":
        raise PycompressError("internal error: huffman tables are written by hls.huffman")
    t = pack_lane_words(c.codes, c.bits, outputs, reduction, lanes)
    big = in_bram(c.bits * lanes, t.depth)
    return {**base, "depth": t.depth, "big": big, "widths": list(t.widths),
            "columns": [{"width": w, "data": d} for w, d in zip(t.widths, t.data)],
            "pieces": [[{"column": q.column, "column_shift": q.column_shift, "mask": q.mask, "code_shift": q.code_shift}
                        for q in lane] for lane in t.pieces()],
            "bram18k": t.bram18k, "luts": t.luts, "codes": c}


@dataclass(frozen=True)
class HuffmanShape:
    """An entropy-coded weight's memories per lane: code, sign and mantissa streams (its share of the tensor's
    bits, an estimate) and its own copy of the decode table and symbols."""

    code_bits: int  # of the whole tensor
    count: int
    rest_bits: int  # mantissa bits per weight beside the symbol
    window: int  # decode table: 2^window entries
    lut_bits: int
    nsym: int
    sym_bits: int

    def memory(self, lanes: int) -> tuple[Column, ...]:
        n = math.ceil(self.count / lanes)
        mww = 16 if self.rest_bits <= 16 else 32
        words = [(16, math.ceil(self.code_bits / lanes / 16) + 2), (16, math.ceil(n / 16))]
        if self.rest_bits:
            words.append((mww, math.ceil(n * self.rest_bits / mww) + 1))
        words += [(self.lut_bits, 1 << self.window), (self.sym_bits, self.nsym)]
        cols = []
        for width, depth in words:
            big = in_bram(width, depth)
            cols += [Column(w, depth, big) for w in (column_widths(width, depth) if big else (width,))]
        return tuple(cols) * lanes


@dataclass(frozen=True)
class TableShape:
    """What sizes a table without packing it: the estimate's and the allocator's view."""

    scheme: str
    format: str
    code_bits: int
    outputs: int
    reduction: int
    rom_bits: int = 0
    huffman: HuffmanShape | None = None

    def memory(self, lanes: int):
        if self.huffman is not None:
            return self.huffman.memory(lanes)
        return table_memory(self.code_bits, lanes, self.outputs // lanes, self.reduction)

    def decode_loads(self, lanes: int) -> tuple[bool, ...]:
        """The memories one code passes through in series (block RAM or not): the table itself, or for an
        entropy-coded weight its code stream, decode table and symbols."""
        cols = self.memory(lanes)
        if self.huffman is None:
            return (cols[0].in_bram,) if cols else ()
        h = self.huffman
        per = len(cols) // lanes
        lane = cols[:per]
        return (lane[0].in_bram, in_bram(h.lut_bits, 1 << h.window), in_bram(h.sym_bits, h.nsym))

    @property
    def payload_bits(self) -> int:
        return self.code_bits * self.outputs * self.reduction


def table_shape(name: str, km, kernel: str, outputs: int, reduction: int) -> TableShape:
    c = tensor_codes(name, km, kernel)
    t = km.tables.get(name)
    huffman = None
    if c.scheme == "huffman":
        st = t.tensor
        nsym = int(st.distinct_symbols)
        huffman = HuffmanShape(int(st.code_bits), int(st.numel), t.rest_bits, t.window,
                               4 + max(1, (nsym - 1).bit_length()), nsym, t.upper_bits)
    return TableShape(c.scheme, c.format, c.bits, outputs, reduction, c.rom_bits, huffman)


def place_in_ddr(params: list[dict], port_of: dict[str, str]) -> DdrImage:
    """Move every weight table to DDR: its codes as a bit stream in loop order; each weight gets its own port."""
    weights = [p for p in params if p["role"] == "weight"]
    huffman = [p for p in weights if p["scheme"] == "huffman"]
    if huffman:
        raise PycompressError("entropy-coded (huffman) weights are decoded from on-chip ROMs only: use --weights bram")
    streams = []
    for p in weights:
        c = p["codes"]
        order = lane_order(p["groups"] * p["lanes"], p["reduction"], p["lanes"])
        streams.append((p["tensor"], p["ident"], pack_stream(c.codes, c.bits, order, p["lanes"]), p["lanes"]))
    image = build_image(streams)
    for p, seg in zip(weights, image.segments):
        p.update(ddr=True, ddr_offset=seg.offset, ddr_words=seg.words, ddr_port=port_of[p["ident"]],
                 ddr_window=ddr_window(p["code_bits"], p["lanes"]), ddr_shifts=ddr_shifts(p["code_bits"], p["lanes"]),
                 group_bits=p["code_bits"] * p["lanes"])
    return image


def check_format(name: str, t) -> None:
    if t is not None and t.format.name not in ("fp32", "bf16", "fp16"):
        raise PycompressError(f"tensor {name!r} is stored in {t.format.name}; the HLS kernel supports fp32, bf16, fp16")


def format_of(name: str) -> object:
    return get_format(name)
