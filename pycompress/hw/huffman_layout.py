"""Hardware layout of `huffman` tensors: the one packer behind the HLS header and the RTL images.

Per tensor it gives the identifier that reaches C++/SystemVerilog (hwnames), the widths
the decoders are built with, the code stream as 16-bit words, the per-weight sign and
mantissa-rest fields, the offsets, and the decode table at the hardware window: the longest
code actually used, not the stored limit, since any window >= every code length decodes a
complete prefix code and a shorter one means a smaller table. Everything is vectorised.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycompress.core import bitpack
from pycompress.core.container import CompressedModel
from pycompress.core.formats import FloatFormat
from .names import unique_identifiers
from pycompress.schemes.huffman.huffman import decode_table
from pycompress.schemes.huffman.scheme import HuffmanTensor

CODE_WORD_BITS = 16
# Zero words after the code stream: the decoders read up to this many words past its last bit.
CODE_PAD_WORDS = 4


def words(stream: np.ndarray, width: int, count: int) -> np.ndarray:
    """Byte stream (MSB first) as `count` big-endian words of `width` (16 or 32) bits, zero-padded."""
    nbytes = width // 8
    buf = np.zeros(count * nbytes, np.uint8)
    buf[:stream.size] = stream
    return buf.view(">u2" if width == 16 else ">u4").astype(np.uint64)


@dataclass(frozen=True, eq=False)
class HuffmanTables:
    """What a hardware decoder of one entropy-coded tensor needs, as plain arrays."""

    name: str  # the tensor name (data: reaches generated text only through hwnames filters)
    ident: str  # sanitised identifier
    tensor: HuffmanTensor

    scheme = "huffman"
    # What the kernel planner prices (an estimate): a fixed-width stream of the mean stored bits per weight
    # (code, sign, mantissa rest) through the exponent-sharing decoder; the decode table ROM is not counted.
    cost_scheme = "expshare"
    rom_bits = 0
    element_bits = None  # no random-access decoder: a bias stays float32

    @property
    def code_bits(self) -> int:
        """Mean stored bits per weight, rounded up."""
        st = self.tensor
        return -(-(st.code_bits + st.numel * (1 + self.rest_bits)) // max(1, st.numel))

    def raw_codes(self) -> tuple[np.ndarray, int]:
        """(decoded bits in the storage format per weight in C order, format width): the raw baseline's codes."""
        return self.tensor.decode_bits().reshape(-1).astype(np.uint64), self.format.total_bits

    @property
    def format(self) -> FloatFormat:
        return self.tensor.fmt

    @property
    def depth(self) -> int:
        return self.tensor.numel

    @property
    def head(self) -> int:
        return self.tensor.head_bits

    @property
    def rest_bits(self) -> int:
        """Mantissa bits per weight outside the symbol."""
        return self.tensor.mantissa_bits - self.tensor.head_bits

    @property
    def drop(self) -> int:
        """Low mantissa bits not stored (zero)."""
        return self.format.mantissa_bits - self.tensor.mantissa_bits

    @property
    def upper_bits(self) -> int:
        """Width of a symbol: exponent field and head bits."""
        return self.format.exponent_bits + self.head

    @property
    def window(self) -> int:
        """Decode window: the longest code in use (1 for the zero-bit code of a single symbol)."""
        return max(1, int(self.tensor.code_lengths.max()))

    @property
    def num_blocks(self) -> int:
        return max(1, -(-self.depth // self.tensor.block))

    @property
    def offset_bits(self) -> int:
        return self.tensor.offset_bits

    def code_words(self, pad: int = CODE_PAD_WORDS) -> np.ndarray:
        """The code stream as 16-bit words, `pad` zero words after it."""
        return words(self.tensor.code, CODE_WORD_BITS, -(-self.tensor.code.size // 2) + pad)

    def sign(self) -> np.ndarray:
        return bitpack.unpack(self.tensor.sign, 1, self.depth, np.uint64)

    def rest(self) -> np.ndarray:
        """The mantissa rest of every weight (right-aligned values, rest_bits wide). Short runs (scheme
        version 2) are widened back: the decoders hold one fixed-width field per weight, so on chip a
        short run costs what a long one does; only the file is smaller."""
        if self.rest_bits == 0:
            return np.zeros(self.depth, np.uint64)
        if self.tensor.short_bits:
            bits = self.tensor.decode_bits().reshape(-1).astype(np.uint64)
            return (bits >> np.uint64(self.drop)) & np.uint64((1 << self.rest_bits) - 1)
        return bitpack.unpack(self.tensor.mantissa, self.rest_bits, self.depth, np.uint64)

    def mantissa_stream(self) -> np.ndarray:
        """The mantissa rests packed at rest_bits per weight (MSB first): the stored field, or for short
        runs the widened one."""
        if self.tensor.short_bits and self.rest_bits:
            return bitpack.pack(self.rest(), self.rest_bits)
        return self.tensor.mantissa

    def lut(self, window: int | None = None, upper_bits: int | None = None, index: bool = False) -> np.ndarray:
        """Decode table of 2^window entries, each `value << 4 | code length`; value is the symbol index
        (`index`) or the symbol placed at the top of `upper_bits` (head bits padded with zeros below)."""
        table = decode_table(self.tensor.code_lengths, self.window if window is None else window)
        if index:
            value = table.symbol.astype(np.uint64)
        else:
            pad = (self.upper_bits if upper_bits is None else upper_bits) - self.upper_bits
            value = self.tensor.symbols.astype(np.uint64)[table.symbol] << np.uint64(pad)
        return (value << np.uint64(4)) | table.length.astype(np.uint64)


def huffman_tables(model: CompressedModel) -> list[HuffmanTables]:
    """Tables of every entropy-coded tensor, in model order."""
    names = [n for n in model.order if isinstance(model.tensors.get(n), HuffmanTensor)]
    idents = unique_identifiers(names)
    return [HuffmanTables(n, idents[n], model.tensors[n]) for n in names]


def tensor_tables(tensors: dict[str, HuffmanTensor]) -> list[HuffmanTables]:
    """Tables of the given tensors (names sanitised together)."""
    idents = unique_identifiers(list(tensors))
    return [HuffmanTables(n, idents[n], st) for n, st in tensors.items()]


def is_huffman(model: CompressedModel) -> bool:
    """True for a container of the huffman scheme; one mixing it with another scheme is refused (one line)."""
    from pycompress.core.errors import PycompressError

    schemes = {st.scheme for st in model.tensors.values()}
    if "huffman" in schemes and len(schemes) > 1:
        raise PycompressError(f"the container mixes schemes {', '.join(sorted(schemes))}: hardware needs one scheme")
    return schemes == {"huffman"}

