"""The kernel's tables: every conv/linear weight and bias as codes in loop order, one memory word per group.

Codes per kernel: `compressed` (the container's scheme: sign|index|mantissa for exponent sharing, the
codebook index for clustering), `raw` (the raw bits in the storage format: the like-for-like baseline),
`offset` (sign | exponent minus the tensor's smallest | stored mantissa: the offset-exponent baseline) and
`float` (float32 bits). Tensors the container keeps raw (`cm.raw`) are float32 bits in every kernel.
The packing is `pycompress.hw.lanewords` (constant field offsets, RAMB18-shaped columns, some folded); with
`--weights ddr` the same codes go to DDR as a bit stream (`ddr.py`) read by one AXI master per weight.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycompress.core.errors import PycompressError
from pycompress.hw.huffman_layout import HuffmanTables
from pycompress.hw.lanewords import fold_rows, in_bram, pack_lane_words
from pycompress.hw.layout import ClusterTables, ExpShareTables, lane_order, offset_codes, pack_stream
from pycompress.hw.plan.kernel_model import KERNELS
from pycompress.hw.names import ModelName
from .ddr import DdrImage, build_image, ddr_shifts, ddr_window



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
    if kernel not in KERNELS:
        raise PycompressError(f"unknown kernel {kernel!r} (choose from {', '.join(KERNELS)})")
    if t is None or kernel == "float":
        return Codes(km.params[name].view(np.uint32).reshape(-1).astype(np.uint64), 32, "float", "fp32", {})
    f = t.format
    widths = {"format_exponent_bits": f.exponent_bits, "format_mantissa_bits": f.mantissa_bits}
    if isinstance(t, HuffmanTables) and kernel == "compressed":  # decoded by hls.huffman, priced by its streams
        return Codes(np.zeros(t.depth, np.uint64), t.code_bits, "huffman", f.name, widths)
    bits, _ = t.raw_codes()
    if kernel == "raw" or (kernel == "offset" and isinstance(t, ClusterTables)):
        return Codes(bits, f.total_bits, "raw", f.name, widths)
    if kernel == "offset":
        mant = t.tensor.mantissa_bits if isinstance(t, HuffmanTables) else t.mantissa_bits
        o = offset_codes(bits, f, mant)
        return Codes(o.codes, o.code_bits, "offset", f.name,
                     {**widths, "offset_bits": o.exp_bits, "offset_mask": (1 << o.exp_bits) - 1, "emin": o.emin,
                      "mantissa_bits": o.mantissa_bits, "mantissa_mask": (1 << o.mantissa_bits) - 1,
                      "mantissa_shift": o.mantissa_shift})
    codes, b = t.stream_codes()
    if isinstance(t, ExpShareTables):
        return Codes(codes, b, "expshare", f.name,
                     {**widths, "index_bits": t.index_bits, "mantissa_bits": t.mantissa_bits,
                      "mantissa_shift": t.mantissa_shift, "exponent_bits": f.exponent_bits,
                      "exp_depth": int(t.exponent_rom.size), "exponent_rom": t.exponent_rom,
                      "index_mask": (1 << t.index_bits) - 1, "mantissa_mask": (1 << t.mantissa_bits) - 1,
                      "exponent_mask": (1 << f.exponent_bits) - 1}, t.rom_bits)
    return Codes(codes, b, "cluster", f.name, {**widths, "index_bits": t.index_bits, "k": int(t.codebook_rom.size),
                                               "codebook": t.codebook_rom, "format_bits": f.total_bits}, t.rom_bits)


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
            "columns": [{"width": col.width, "fold": col.fold, "rows": col.rows, "row_bits": col.row_bits,
                         "starts": list(col.starts), "mask": (1 << col.width) - 1, "data": fold_rows(d, col)}
                        for col, d in zip(t.columns, t.data)],
            "pieces": [[{"column": q.column, "column_shift": q.column_shift, "mask": q.mask, "code_shift": q.code_shift}
                        for q in lane] for lane in t.pieces()],
            "bram18k": t.bram18k, "luts": t.luts, "codes": c}


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

