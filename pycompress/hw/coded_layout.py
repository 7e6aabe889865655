"""Hardware layout of `cluster_huffman` tensors (entropy-coded codebook indices): the one packer behind the
HLS decoder header and the RTL decoder images.

A kernel with P lanes gives each lane its own code stream: lane p's weights in that lane's loop
order (`layout.lane_split_order`: lane p holds outputs p*G .. p*G+G-1, reduction outermost), cut into
the file's symbols (codebook indices, runs of `run_index` up to `max_run`) within the lane. All lanes
of a tensor share one canonical code, built from their symbols together and limited to
HW_MAX_LEN bits, so one decode table serves every lane; its window is the longest code in use.
Streams are 16-bit words, MSB first, as the exponent decoder's (`huffman_layout`). A run symbol
makes the decoder emit `run_index` for several clocks while its stream waits, so every lane gives
one weight per clock however its weights are coded. Everything is vectorised.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycompress.core import bitpack
from pycompress.core.container import CompressedModel
from pycompress.core.errors import PycompressError
from pycompress.core.formats import FloatFormat, get_format
from pycompress.schemes import coded_codebook_kernels as kernels
from pycompress.schemes.coded_codebook import CodedClusterTensor, code_lengths_for, lut, symbol_counts, symbol_stream
from pycompress.schemes.huffman.huffman import canonical_codes
from .huffman_layout import CODE_WORD_BITS, words
from .layout import lane_split_order
from .names import unique_identifiers

# Longest code word. The decode table has 2^L entries and each pair of lanes reads its own copy, so L sets
# the decoders' memory: at 8 a copy is 256 entries, LUT RAM; at 12 it is 4,096, block RAM. A code limited
# to 8 bits costs about 1% more stream bits on the LeNet layers (sim/coded_harness.py --memory prints both).
HW_MAX_LEN = 8
LENGTH_FIELD = 4  # code length beside the symbol in a table entry (symbol << 4 | length)
CODE_PAD_WORDS = 2  # zero words after a lane's stream: the refill may read one past the last code


def symbol_width(k: int, alphabet: int) -> int:
    """Bits of a decode-table symbol: every symbol (< alphabet) and K itself, which the decoders compare with."""
    return max(1, int(max(alphabet - 1, k)).bit_length())


@dataclass(frozen=True, eq=False)
class CodedLane:
    order: np.ndarray  # flat element indices, in the lane's decode order
    code: np.ndarray  # uint8, MSB first
    code_bits: int

    @property
    def count(self) -> int:
        return int(self.order.size)

    def code_words(self, pad: int = CODE_PAD_WORDS) -> np.ndarray:
        return words(self.code, CODE_WORD_BITS, -(-self.code.size // 2) + pad)


@dataclass(frozen=True, eq=False)
class CodedTables:
    """What the hardware decoders of one entropy-coded codebook tensor need, as plain arrays."""

    name: str  # data: reaches generated text only through the names filters
    ident: str
    format: FloatFormat
    shape: tuple[int, ...]
    codebook: np.ndarray  # raw bits of the k shared values
    run_index: int
    max_run: int
    lengths: np.ndarray  # per symbol of the alphabet, 0: unused (the lanes' common code)
    lanes: tuple[CodedLane, ...]
    decoded: np.ndarray  # the tensor's raw bits, flat (the scheme's own decode): what the lanes must give

    @property
    def k(self) -> int:
        return int(self.codebook.size)

    @property
    def alphabet(self) -> int:
        return self.k + self.max_run

    @property
    def symbol_bits(self) -> int:
        return symbol_width(self.k, self.alphabet)

    @property
    def window(self) -> int:
        return max(1, int(self.lengths.max()))

    @property
    def lut_bits(self) -> int:
        return self.symbol_bits + LENGTH_FIELD

    @property
    def index_bits(self) -> int:
        return max(1, int(self.k - 1).bit_length())

    def lut(self) -> np.ndarray:
        """2^window entries: symbol << 4 | code length (0: no code word starts with this window)."""
        t = lut(self.lengths, self.window)
        return (t.symbol.astype(np.uint64) << np.uint64(LENGTH_FIELD)) | t.length.astype(np.uint64)

    def expected(self, lane: int) -> np.ndarray:
        """The raw bits a lane's decoder must give, in its order (from the tensor's own decode)."""
        return self.decoded[self.lanes[lane].order]

    def decode_lane(self, lane: int) -> np.ndarray:
        """Python model of the hardware decode of one lane (the table walk of the scheme's kernel)."""
        ln = self.lanes[lane]
        t = lut(self.lengths, self.window)
        out = np.empty(ln.count, np.uint16)
        padded = np.concatenate([ln.code, np.zeros(kernels.READ_AHEAD, np.uint8)])
        end = kernels.walk(padded, ln.code_bits, t.symbol, t.length, self.window, self.k, self.run_index, ln.count, out,
                           True) if ln.count else 0
        if end != ln.code_bits:
            raise PycompressError(f"{self.name}: lane {lane} stream does not decode ({end})")
        return np.asarray(self.codebook, dtype=self.format.uint_dtype)[out]

    def stream_bits(self) -> int:
        """Bits of every lane's code stream, in whole 16-bit words with the pad the decoders read."""
        return sum(int(ln.code_words().size) * CODE_WORD_BITS for ln in self.lanes)


def coded_tables(name: str, ident: str, st: CodedClusterTensor, lanes: int = 1, max_len: int = HW_MAX_LEN) -> CodedTables:
    """Lane streams of one tensor: outputs = first dimension, reduction = the rest; codes of at most max_len bits."""
    shape = tuple(st.shape)
    outputs = shape[0] if shape else 1
    reduction = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    orders = lane_split_order(outputs, reduction, lanes)
    idx = st.indices().astype(np.int64)
    k, r, ri = st.k, st.max_run, st.run_index
    counts = sum(symbol_counts(idx[o], k, ri, r) for o in orders)
    max_len = max(max_len, int((counts > 0).sum() - 1).bit_length())  # more symbols than 2^max_len: longer codes
    lengths = code_lengths_for(counts, max_len)
    codes = canonical_codes(lengths).astype(np.uint64)
    out = []
    for o in orders:
        sym = symbol_stream(idx[o], k, ri, r)
        bits = int(lengths.astype(np.int64)[sym].sum())
        code = np.zeros(bitpack.packed_nbytes(bits, 1), np.uint8)
        if sym.size:
            kernels.write_codes(sym, codes, lengths, code)
        out.append(CodedLane(np.asarray(o, np.int64), code, bits))
    return CodedTables(name, ident, get_format(st.format), shape, np.asarray(st.codebook), ri, r, lengths, tuple(out),
                       st.decode_bits().reshape(-1))


def model_coded_tables(model: CompressedModel, lanes: dict[str, int] | int = 1, max_len: int = HW_MAX_LEN) -> list[CodedTables]:
    """Tables of every `cluster_huffman` tensor, in model order (lanes per tensor, or one count for all)."""
    names = [n for n in model.order if isinstance(model.tensors.get(n), CodedClusterTensor)]
    if not names:
        raise PycompressError("the container holds no entropy-coded codebook tensors (scheme cluster_huffman)")
    idents = unique_identifiers(names)
    return [coded_tables(n, idents[n], model.tensors[n], lanes if isinstance(lanes, int) else lanes.get(n, 1), max_len)
            for n in names]
