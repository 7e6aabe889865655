"""Hardware table layouts: the one packer that feeds the HLS headers and the RTL memory images.

For every stored tensor it gives the identifier that reaches C++/Verilog/TCL, the
table depths and widths, and the per-entry field values (sign, index, mantissa
or codebook index), plus the exponent ROM or codebook ROM contents. Templates
receive these plain values; nothing else decides a width.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pycompress.core.container import CompressedModel
from pycompress.core.errors import PycompressError
from pycompress.core.formats import FloatFormat, get_format
from .names import sanitize_identifier, unique_identifiers  # noqa: F401  (re-exported: the one sanitiser)


@dataclass(frozen=True, eq=False)
class ExpShareTables:
    """Sign/index/mantissa tables (depth N) and the exponent ROM of one layer."""

    name: str  # original tensor name
    ident: str  # sanitised identifier
    format: FloatFormat
    shape: tuple[int, ...]
    index_bits: int
    mantissa_bits: int  # stored width (<= format's)
    exponent_rom: np.ndarray  # exponent fields, ascending; depth e
    sign: np.ndarray  # per weight, C order of `shape`
    index: np.ndarray
    mantissa: np.ndarray

    scheme = "expshare"
    cost_scheme = "expshare"  # the decoder the cost tables price: window realign + exponent ROM
    rom_label = "exponent ROM"

    @property
    def depth(self) -> int:
        return int(self.sign.size)

    @property
    def mantissa_shift(self) -> int:
        """Zero bits appended below the stored mantissa to rebuild the format's mantissa."""
        return self.format.mantissa_bits - self.mantissa_bits

    @property
    def code_bits(self) -> int:
        """Bits of one weight's code: sign | index | stored mantissa."""
        return 1 + self.index_bits + self.mantissa_bits

    element_bits = code_bits  # a random-access table entry is the same code

    def fields(self) -> list[tuple[str, str, np.ndarray, int]]:
        """(field, label, values, width) of the per-weight fields, in code order (MSB first)."""
        out = [("sign", "sign", self.sign, 1), ("index", "index", self.index, self.index_bits)]
        if self.mantissa_bits:
            out.append(("mantissa", "mantissa", self.mantissa, self.mantissa_bits))
        return out

    @property
    def rom(self) -> tuple[np.ndarray, int]:
        """(entries, width) of the ROM every lane's decoder looks the index up in."""
        return self.exponent_rom, self.format.exponent_bits

    @property
    def rom_bits(self) -> int:
        return int(self.exponent_rom.size) * self.format.exponent_bits

    def stream_codes(self) -> tuple[np.ndarray, int]:
        return stream_codes(self)

    def raw_codes(self) -> tuple[np.ndarray, int]:
        return raw_codes(self)


@dataclass(frozen=True, eq=False)
class ClusterTables:
    """Codebook-index table (depth N) and codebook ROM (raw bits in `format`) of one layer."""

    name: str
    ident: str
    format: FloatFormat
    shape: tuple[int, ...]
    index_bits: int
    codebook_rom: np.ndarray  # raw bit patterns of the shared values
    index: np.ndarray

    scheme = "cluster"
    cost_scheme = "cluster"  # window realign + codebook ROM
    rom_label = "codebook ROM"

    @property
    def depth(self) -> int:
        return int(self.index.size)

    @property
    def code_bits(self) -> int:
        """Bits of one weight's code: the codebook index."""
        return self.index_bits

    element_bits = code_bits

    def fields(self) -> list[tuple[str, str, np.ndarray, int]]:
        return [("index", "codebook index", self.index, self.index_bits)]

    @property
    def rom(self) -> tuple[np.ndarray, int]:
        return self.codebook_rom, self.format.total_bits

    @property
    def rom_bits(self) -> int:
        return int(self.codebook_rom.size) * self.format.total_bits

    def stream_codes(self) -> tuple[np.ndarray, int]:
        return stream_codes(self)

    def raw_codes(self) -> tuple[np.ndarray, int]:
        return raw_codes(self)


LayerTables = ExpShareTables | ClusterTables


def layer_tables(model: CompressedModel) -> list[LayerTables]:
    """Tables of every stored tensor, in model order."""
    idents = unique_identifiers([n for n in model.order if n in model.tensors])
    out: list[LayerTables] = []
    for name in model.order:
        if name not in model.tensors:
            continue
        st = model.tensors[name]
        if st.scheme == "expshare":
            sign, index, mantissa = st.fields()
            out.append(ExpShareTables(name, idents[name], get_format(st.format), tuple(st.shape), st.index_bits,
                                      st.mantissa_bits, np.asarray(st.exponent_table), sign, index, mantissa))
        elif st.scheme in ("cluster", "cluster_huffman"):
            # entropy-coded indices (issue 25) reach the network kernels as the same codebook and fixed-width
            # indices; their own lane decoders (coded_layout.py, hls/coded.py, rtl/coded_decoder.sv) are checked apart
            out.append(ClusterTables(name, idents[name], get_format(st.format), tuple(st.shape), st.index_bits,
                                     np.asarray(st.codebook), st.indices()))
        else:
            raise PycompressError(f"tensor {name!r}: storage scheme {st.scheme!r} has no hardware tables")
    return out


# ---- packed weight streams ------------------------------------------------------------------------------

STREAM_WORD_BITS = 36  # the widest RAMB18 aspect ratio (512 x 36): every stored bit lands in block RAM
_PACK_CHUNK = STREAM_WORD_BITS * 8192  # weights per packing step: whole words, bounded temporary memory


@dataclass(frozen=True, eq=False)
class PackedStream:
    """One layer's weights as fixed-width codes concatenated MSB first, cut into STREAM_WORD_BITS-bit words.

    The code of a weight is sign|index|mantissa (exponent sharing), the codebook index
    (clustering) or the raw bits in the storage format (baselines); `order` is the
    position -> element map the stream was written in (None: C order). Reading P
    consecutive codes never needs more than `window_words(P)` consecutive words.
    """

    code_bits: int
    count: int
    words: np.ndarray  # uint64, each < 2**STREAM_WORD_BITS, zero padded at the end
    word_bits: int = STREAM_WORD_BITS

    @property
    def payload_bits(self) -> int:
        return self.code_bits * self.count


def window_words(code_bits: int, lanes: int, word_bits: int = STREAM_WORD_BITS) -> int:
    """Words spanned by one group of `lanes` codes: groups start at multiples of gcd(group, word) bits in a word."""
    group = code_bits * lanes
    last_offset = word_bits - math.gcd(group, word_bits)
    return (last_offset + group - 1) // word_bits + 1


def stream_codes(t: LayerTables) -> tuple[np.ndarray, int]:
    """(code per weight in C order, code width) of encoded tables: the scheme's fields concatenated, MSB first."""
    if not isinstance(t, (ExpShareTables, ClusterTables)):
        raise PycompressError(f"no stream codes for tables of type {type(t).__name__}")
    codes = np.zeros(t.depth, np.uint64)
    for _, _, values, width in t.fields():
        codes = (codes << np.uint64(width)) | np.asarray(values).astype(np.uint64).reshape(-1)
    return codes, t.code_bits


def raw_codes(t: LayerTables) -> tuple[np.ndarray, int]:
    """(raw bits in the storage format per weight in C order, format width): the same-format baseline's codes."""
    f = t.format
    if isinstance(t, ExpShareTables):
        e = t.exponent_rom.astype(np.uint64)[t.index.astype(np.int64)]
        bits = ((t.sign.astype(np.uint64) << np.uint64(f.exponent_bits + f.mantissa_bits)) | (e << np.uint64(f.mantissa_bits))
                | (t.mantissa.astype(np.uint64) << np.uint64(t.mantissa_shift)))
        return bits.reshape(-1), f.total_bits
    if isinstance(t, ClusterTables):
        return t.codebook_rom.astype(np.uint64)[t.index.astype(np.int64)].reshape(-1), f.total_bits
    raise PycompressError(f"no raw codes for tables of type {type(t).__name__}")


@dataclass(frozen=True)
class OffsetCode:
    """The offset-exponent baseline's code: sign | exponent - emin (exp_bits wide) | stored mantissa."""

    codes: np.ndarray
    code_bits: int
    emin: int
    exp_bits: int
    mantissa_bits: int  # stored
    mantissa_shift: int  # zero bits appended on decode


def offset_codes(bits: np.ndarray, fmt: FloatFormat, mantissa_bits: int | None = None) -> OffsetCode:
    """Raw bits in `fmt` as offset-exponent codes: each exponent field minus the tensor's smallest, stored at
    the width of the tensor's range (the baseline exponent sharing is compared with besides raw bits)."""
    m = fmt.mantissa_bits if mantissa_bits is None else mantissa_bits
    shift = fmt.mantissa_bits - m
    b = np.asarray(bits, dtype=np.uint64).reshape(-1)
    e = (b >> np.uint64(fmt.mantissa_bits)) & np.uint64((1 << fmt.exponent_bits) - 1)
    emin = int(e.min()) if e.size else 0
    ebits = (int(e.max()) - emin).bit_length() if e.size else 0
    sign = b >> np.uint64(fmt.exponent_bits + fmt.mantissa_bits)
    mant = (b & np.uint64((1 << fmt.mantissa_bits) - 1)) >> np.uint64(shift)
    codes = (sign << np.uint64(ebits + m)) | ((e - np.uint64(emin)) << np.uint64(m)) | mant
    return OffsetCode(codes, 1 + ebits + m, emin, ebits, m, shift)


def pack_stream(codes: np.ndarray, code_bits: int, order: np.ndarray | None = None, lanes: int = 1) -> PackedStream:
    """Concatenate `codes[order]` at `code_bits` each, MSB first, into 36-bit words.

    The tail is padded with zero words so that a window of `window_words(code_bits, lanes)`
    words starting at any code stays inside the array.
    """
    if not 1 <= code_bits <= 32:
        raise PycompressError(f"stream code width {code_bits} outside 1..32")
    codes = np.asarray(codes, dtype=np.uint64).reshape(-1)
    if order is not None:
        codes = codes[np.asarray(order).reshape(-1)]
    if codes.size and int(codes.max()) >> code_bits:
        raise PycompressError(f"code {int(codes.max())} does not fit {code_bits} bits")
    wb = STREAM_WORD_BITS
    shifts = np.arange(code_bits - 1, -1, -1, dtype=np.uint64)
    weights = np.uint64(1) << np.arange(wb - 1, -1, -1, dtype=np.uint64)
    parts = []
    for start in range(0, codes.size, _PACK_CHUNK):
        bits = ((codes[start:start + _PACK_CHUNK, None] >> shifts) & np.uint64(1)).astype(np.uint8).reshape(-1)
        bits = np.concatenate([bits, np.zeros(-bits.size % wb, np.uint8)])
        parts.append((bits.reshape(-1, wb).astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64))
    words = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
    pad = max(window_words(code_bits, lanes) - 1, 1 if words.size == 0 else 0)
    words = np.concatenate([words, np.zeros(pad, np.uint64)])
    return PackedStream(code_bits, int(codes.size), words)


def unpack_stream(stream: PackedStream) -> np.ndarray:
    """The codes back, in stream order (the inverse of `pack_stream`, for tests and tools)."""
    wb = stream.word_bits
    bits = ((stream.words[:, None] >> np.arange(wb - 1, -1, -1, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
    bits = bits.reshape(-1)[:stream.payload_bits].reshape(stream.count, stream.code_bits)
    return (bits.astype(np.uint64) << np.arange(stream.code_bits - 1, -1, -1, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)


def lane_order(outputs: int, reduction: int, lanes: int) -> np.ndarray:
    """Stream position -> element of an (outputs, reduction) weight in the HLS loop order.

    The reduction is outermost; lane p of P handles outputs p*G .. p*G+G-1 (G = outputs / P),
    so position (r, g, p) holds weight[(p*G + g), r].
    """
    if lanes < 1 or outputs % lanes:
        raise PycompressError(f"{lanes} lanes do not divide {outputs} outputs")
    g = outputs // lanes
    r = np.arange(reduction)[:, None, None]
    gg = np.arange(g)[None, :, None]
    p = np.arange(lanes)[None, None, :]
    return ((p * g + gg) * reduction + r).reshape(-1)


def lane_split_order(outputs: int, reduction: int, lanes: int) -> np.ndarray:
    """(lanes, reduction * G) element indices of an (outputs, reduction) weight: lane p's own table in its loop order.

    Row p is `lane_order` restricted to lane p: address r*G + g holds weight[p*G + g, r], the order in
    which one lane of the RTL fc engine (rtl/fc_engine.sv, one weight_streamer per lane) consumes it.
    """
    g = outputs // lanes if lanes >= 1 and outputs % lanes == 0 else None
    if g is None:
        raise PycompressError(f"{lanes} lanes do not divide {outputs} outputs")
    return lane_order(outputs, reduction, lanes).reshape(reduction, g, lanes).transpose(2, 0, 1).reshape(lanes, -1)


def bunch_lane_order(outputs: int, reduction: int, lanes: int, bunches: int = 1, taps: int = 0) -> np.ndarray:
    """(lanes, reduction * G) element indices of an (outputs, reduction) weight in the RTL engine's order
    (rtl/mac_engine.sv): lane l of P, G = outputs / P outputs a lane, K bunches of B = G / K; for bunch k, for r,
    for b, the weight of output k*P*B + l*B + b, input r. K = 1 is `lane_split_order`. With `taps` (the engine's
    INNER order, r = ic * taps + tap): for ic, for k, for tap, for b."""
    if lanes < 1 or outputs % lanes or (outputs // lanes) % bunches:
        raise PycompressError(f"{lanes} lanes x {bunches} bunches do not divide {outputs} outputs")
    g = outputs // lanes
    b = g // bunches
    lane = np.arange(lanes)[:, None, None, None, None]
    if taps:
        ic = np.arange(reduction // taps)[None, :, None, None, None]
        k = np.arange(bunches)[None, None, :, None, None]
        tap = np.arange(taps)[None, None, None, :, None]
        bb = np.arange(b)[None, None, None, None, :]
        return ((k * lanes * b + lane * b + bb) * reduction + ic * taps + tap).reshape(lanes, -1)
    k = np.arange(bunches)[None, :, None, None]
    r = np.arange(reduction)[None, None, :, None]
    bb = np.arange(b)[None, None, None, :]
    return ((k * lanes * b + lane[..., 0] * b + bb) * reduction + r).reshape(lanes, -1)
