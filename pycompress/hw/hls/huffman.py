"""HLS C++ decoder of the `huffman` scheme: render it for given tensors and check it in C simulation.

Python passes plain values (stream words, tables, widths) to the templates
`huffman_decode.h.j2` (the II=1 decoder), `huffman_tensors.h.j2` and `huffman_csim.cpp.j2`;
`csim` compiles them with g++ and the ap_types headers of the installed hls4ml package
and returns every decoded weight, to be compared bit for bit with the Python decode.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pycompress.hw.lanewords import LUTRAM_MAX_BITS
from .templates import render
from pycompress.hw.names import ModelName
from pycompress.hw.huffman_layout import HuffmanTables, tensor_tables, words
from pycompress.schemes.huffman.scheme import HuffmanTensor

SOURCES = {"huffman_decode.h": "huffman_decode.h.j2", "huffman_tensors.h": "huffman_tensors.h.j2",
           "huffman_csim.cpp": "huffman_csim.cpp.j2"}


@dataclass(frozen=True)
class DecoderTensor:
    """Plain values the templates need for one tensor."""

    name: ModelName  # rendered only through |cpp_comment
    ident: str
    format: str
    n: int
    total: int  # format width
    mant_bits: int  # format mantissa width
    head: int
    mw: int  # fixed-width mantissa bits per weight
    mww: int  # mantissa stream word width
    drop: int  # low mantissa bits not stored (zero)
    symw: int
    nsym: int
    max_len: int
    lutw: int
    code: np.ndarray
    sign: np.ndarray
    mant: np.ndarray
    symbols: np.ndarray
    lut: np.ndarray


def decoder_tensor(t: HuffmanTables) -> DecoderTensor:
    """Template values from the shared packer (entropy.layout), at its hardware window."""
    st = t.tensor
    mw = t.rest_bits
    mww = 16 if mw <= 16 else 32
    lutw = 4 + max(1, int(st.distinct_symbols - 1).bit_length())  # <= 16: symbol index < 2^12
    n = st.numel
    mant = t.mantissa_stream()  # short runs (scheme v2) widened: one fixed-width field per weight
    return DecoderTensor(
        name=ModelName(t.name), ident=t.ident, format=t.format.name, n=n, total=t.format.total_bits,
        mant_bits=t.format.mantissa_bits, head=t.head, mw=mw, mww=mww, drop=t.drop, symw=t.upper_bits,
        nsym=st.distinct_symbols, max_len=t.window, lutw=lutw,
        code=t.code_words(pad=2),  # + 2 words: the refill may read past the last code
        sign=words(st.sign, 16, -(-n // 16)),
        mant=words(mant, mww, max(1, -(-mant.size // (mww // 8)) + 1)),
        symbols=st.symbols.astype(np.uint64),
        lut=t.lut(index=True),
    )


def write_decoder(tensors: dict[str, HuffmanTensor], folder: str | Path) -> Path:
    """Render the decoder, the tensors' streams and the C-simulation main into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    values = [decoder_tensor(t) for t in tensor_tables(tensors)]
    for out, template in SOURCES.items():
        (folder / out).write_text(render(template, tensors=values))
    return folder


def csim(tensors: dict[str, HuffmanTensor], folder: str | Path) -> dict[str, np.ndarray]:
    """Compile and run the C simulation; the decoded raw bits of every tensor (flat, storage dtype)."""
    from .project import build_and_run_decoder

    folder = write_decoder(tensors, folder)
    build_and_run_decoder(folder, "huffman_csim")
    out = {}
    for t in tensor_tables(tensors):
        name, st, ident = t.name, t.tensor, t.ident
        dtype = st.fmt.uint_dtype.newbyteorder("<")
        out[name] = np.fromfile(folder / f"{ident}.bin", dtype=dtype).astype(st.fmt.uint_dtype)
    return out


# ---- the HLS kernel's weight streams (pycompress generate on a huffman container) ---------------------------

def reencode(t: HuffmanTables, order: np.ndarray) -> HuffmanTensor:
    """The tensor's weights in `order` (flat indices), coded with the tensor's own code table, head and
    mantissa widths (no short runs, no offsets): the stream one kernel lane decodes in its loop order.
    The code bits are the same multiset, so a lane's stream costs exactly its share of the file's."""
    from pycompress.schemes.huffman import kernels
    from pycompress.core import bitpack
    from pycompress.schemes.huffman.huffman import canonical_codes
    from pycompress.schemes.huffman.plan import NO_CHUNK, _params

    st = t.tensor
    fmt = st.fmt
    bits = st.decode_bits().reshape(-1)[np.asarray(order, np.int64)]
    m, head = st.mantissa_bits, st.head_bits
    p = _params(fmt, m, head)
    code_of = np.zeros(1 << (fmt.exponent_bits + head), np.uint32)
    len_of = np.zeros(code_of.size, np.uint8)
    code_of[st.symbols.astype(np.int64)] = canonical_codes(st.code_lengths)
    len_of[st.symbols.astype(np.int64)] = st.code_lengths
    n = bits.size
    code_bits = int(len_of[(bits.astype(np.uint64) >> p["exp_shift"]) & p["exp_mask"]].astype(np.int64).sum())
    out_code = np.zeros(bitpack.packed_nbytes(code_bits, 1), np.uint8)
    out_sign = np.zeros(bitpack.packed_nbytes(n, 1), np.uint8)
    out_mant = np.zeros(bitpack.packed_nbytes(n * p["mant_width"], 1), np.uint8)
    kernels.encode_streams(np.ascontiguousarray(bits), p["sign_shift"], p["exp_shift"], p["exp_mask"], p["mant_drop"],
                           p["mant_width"], code_of, len_of, max(1, n), NO_CHUNK, np.zeros(1, np.uint8), 0,
                           out_code, out_sign, out_mant, np.zeros(0, np.int64))
    return HuffmanTensor(st.format, (n,), st.symbols, st.code_lengths, st.max_len, m, head, max(1, n), code_bits,
                         out_code, out_sign, out_mant, np.zeros(0, np.int64))


def kernel_stream(layer, name: str, ident: str, values: np.ndarray, t: HuffmanTables, lanes: int) -> dict:
    """Template values of one weight of the HLS kernel as `lanes` entropy-coded streams (huffman_stream.h.j2):
    lane p holds its outputs' weights in the kernel's loop order (hwlayout.lane_split_order) and has its own
    decoder with its own copy of the decode table and symbols (one read of each memory per cycle and lane)."""
    from pycompress.core.formats import get_format
    from pycompress.hw.layout import lane_split_order

    outputs, reduction = layer.outputs, layer.reduction  # `layer`: the plan's Layer
    order = lane_split_order(outputs, reduction, lanes)
    decoders = [decoder_tensor(HuffmanTables(t.name, t.ident, reencode(t, row))) for row in order]
    first = decoders[0]
    mww = first.mww  # from the mantissa width, the same in every lane
    big = lambda words, bits: words * bits > LUTRAM_MAX_BITS  # noqa: E731
    per_lane = [{"code": d.code, "sign": d.sign, "mant": d.mant, "code_big": big(d.code.size, 16),
                 "sign_big": big(d.sign.size, 16), "mant_big": big(d.mant.size, mww)} for d in decoders]
    huffman = {"total": first.total, "mant_bits": first.mant_bits, "symw": first.symw, "head": first.head, "mw": first.mw,
               "mww": mww, "drop": first.drop, "max_len": first.max_len, "nsym": first.nsym, "lutw": first.lutw,
               "symbols": first.symbols, "lut": first.lut, "lanes": per_lane,
               "lut_big": big(1 << first.max_len, first.lutw), "sym_big": big(first.nsym, first.symw),
               "stored_bits": sum(d.code.size * 16 + d.sign.size * 16 + d.mant.size * d.mww for d in decoders)}
    f = get_format(t.format.name)
    return {"name": ModelName(name), "tensor": name, "ident": ident, "size": int(values.size), "shape": list(values.shape),
            "role": "weight", "scheme": "huffman", "format": f.name, "lanes": lanes, "groups": outputs // lanes,
            "reduction": reduction, "format_exponent_bits": f.exponent_bits, "format_mantissa_bits": f.mantissa_bits,
            "ddr": False, "huffman": huffman}
