"""Weight sharing with entropy-coded indices (`cluster_huffman`): a codebook of k shared values and the
per-weight codebook indices through a canonical, length-limited Huffman code, with runs.

The symbol alphabet is the k codebook indices followed by R run symbols: run symbol j stands for
j + 1 consecutive copies of one codebook entry, `run_index` (the most frequent one: the zero of a
pruned layer). A maximal run of g copies is coded as floor(g / R) runs of R and one of g mod R.
Only code lengths are stored (4 bits per alphabet symbol, 0: unused); the canonical assignment of
`huffman.canonical_codes` rebuilds the code words, and a decoder indexes a 2^max_len table with the
next max_len stream bits (what the HLS and RTL decoders do too). A code with a single used symbol
gives it length 1 (code word 0); every other code is complete.

The encoder chooses R (0: no runs) and the code by the fewest stored bits: codebook, code-length
table and stream, all counted by `stored_bits()`, exactly what the file holds before byte padding.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch

from pycompress.core import bitpack
from pycompress.core import validate as v
from pycompress.core.container import register_scheme
from pycompress.core.errors import PycompressError
from pycompress.core.formats import FloatFormat, StoredTensorShape, bits_tensor, get_format
from . import coded_codebook_kernels as kernels
from .codebook import CODEBOOK_FORMATS, ClusteredTensor, codebook_index_bits
from .huffman.huffman import DEFAULT_MAX_LEN, MAX_LEN_LIMIT, canonical_codes, check_lengths, decode_table, package_merge

LENGTH_BITS = 4  # one stored code length per alphabet symbol (<= MAX_LEN_LIMIT = 15)
MAX_K = 256
MAX_RUN = 256
RUN_CHOICES = (0, *range(2, 65), 96, 128, 192, 256)  # R the encoder tries when not told (each costs one bincount)
META_KEYS = ("format", "shape", "k", "run_index", "max_run", "max_len", "code_bits")
FIELDS = ("codebook", "code_lengths", "code")
_WALK_ERRORS = {kernels.ENDS_EARLY: "the code stream ends before the last weight",
                kernels.BAD_CODE: "the code stream holds a bit pattern no code word starts with",
                kernels.RUN_PAST_END: "a run goes past the last weight"}


def _runs(idx: np.ndarray, run_index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(in_run mask, start, length) of the maximal runs of `run_index`."""
    in_run = idx == run_index
    edges = np.diff(np.concatenate([[0], in_run.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return in_run, starts, ends - starts


def symbol_counts(idx: np.ndarray, k: int, run_index: int, max_run: int,
                  runs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """How often each of the k + max_run symbols occurs in `symbol_stream`, from the run lengths alone."""
    if max_run == 0:
        return np.bincount(idx, minlength=k)
    in_run, _, g = runs or _runs(idx, run_index)
    counts = np.zeros(k + max_run, np.int64)
    counts[:k] = np.bincount(idx[~in_run], minlength=k)
    counts[k + max_run - 1] += int((g // max_run).sum())
    rem = g % max_run
    counts[k:] += np.bincount(rem[rem > 0] - 1, minlength=max_run)
    return counts


def symbol_stream(indices: np.ndarray, k: int, run_index: int, max_run: int) -> np.ndarray:
    """The symbols that code `indices` (flat): runs of `run_index` cut into pieces of at most max_run."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if max_run == 0 or idx.size == 0:
        return idx
    in_run, starts, g = _runs(idx, run_index)
    pieces = g // max_run + (g % max_run > 0)
    run = np.repeat(np.arange(g.size), pieces)
    t = np.arange(run.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    pos = np.concatenate([np.flatnonzero(~in_run), starts[run] + t * max_run])
    sym = np.concatenate([idx[~in_run], k - 1 + np.minimum(max_run, g[run] - t * max_run)])
    return sym[np.argsort(pos, kind="stable")]


def code_lengths_for(counts: np.ndarray, max_len: int) -> np.ndarray:
    """Length per alphabet symbol (0: unused): package-merge over the used ones; a single used symbol gets 1."""
    counts = np.asarray(counts, dtype=np.int64)
    used = np.flatnonzero(counts)
    lengths = np.zeros(counts.size, np.uint8)
    if used.size == 1:
        lengths[used] = 1
    elif used.size > 1:
        lengths[used] = package_merge(counts[used], max_len)
    return lengths


@dataclass(frozen=True, eq=False)
class DecodeLut:
    """2^window entries of (symbol, code length); length 0 marks a window no code word starts."""
    window: int
    symbol: np.ndarray
    length: np.ndarray


def lut(lengths: np.ndarray, window: int) -> DecodeLut:
    """Decode table over the used symbols (canonical order: by length, then symbol)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    used = np.flatnonzero(lengths)
    size = 1 << window
    if used.size == 1:  # code word 0 of length 1: the upper half decodes nothing
        half = size // 2
        return DecodeLut(window, np.full(size, used[0], np.uint16),
                         np.concatenate([np.ones(half, np.uint8), np.zeros(size - half, np.uint8)]))
    if used.size == 0:
        return DecodeLut(window, np.zeros(size, np.uint16), np.zeros(size, np.uint8))
    t = decode_table(lengths[used], window)
    return DecodeLut(window, used.astype(np.uint16)[t.symbol], t.length)


def check_code(lengths: np.ndarray, max_len: int) -> None:
    """Used lengths within max_len and a complete prefix code (or one symbol of length 1)."""
    l = np.asarray(lengths, dtype=np.int64)
    used = l[l > 0]
    if used.size == 1:
        if int(used[0]) != 1:
            raise PycompressError(f"the one used symbol has code length {int(used[0])}, expected 1")
        return
    if used.size and int(used.max()) > max_len:
        raise PycompressError(f"code length {int(used.max())} over max_len {max_len}")
    check_lengths(used, max_len)


@register_scheme
@dataclass(frozen=True, eq=False)
class CodedClusterTensor(StoredTensorShape):
    format: str  # codebook storage format
    shape: tuple[int, ...]
    codebook: np.ndarray  # raw bits of the k shared values in `format`
    run_index: int
    max_run: int
    max_len: int
    code_lengths: np.ndarray  # uint8 per alphabet symbol (k + max_run), 0: unused
    code_bits: int
    code: np.ndarray  # uint8, MSB first

    scheme = "cluster_huffman"

    @property
    def k(self) -> int:
        return int(self.codebook.size)

    @property
    def index_bits(self) -> int:
        """Bits of the same codebook's fixed-width index (the `cluster` scheme), for comparison."""
        return codebook_index_bits(self.k)

    @property
    def alphabet(self) -> int:
        return self.k + self.max_run

    def field_bits(self) -> dict[str, int]:
        return {"codebook": self.k * self.fmt.total_bits, "code_lengths": LENGTH_BITS * self.alphabet,
                "code": self.code_bits}

    def stored_bits(self) -> int:
        """k*bits(codebook format) + 4*(k + R) + code stream."""
        return sum(self.field_bits().values())

    def indices(self) -> np.ndarray:
        out = np.empty(self.numel, np.uint16)
        end = _walk(self.code, self.code_bits, self.code_lengths, self.max_len, self.k, self.run_index, self.numel, out)
        if end != self.code_bits:
            raise PycompressError(f"corrupt tensor: {_WALK_ERRORS.get(end, f'the code stream ends at bit {end}, not {self.code_bits}')}")
        return out

    def decode_bits(self) -> np.ndarray:
        return np.asarray(self.codebook, dtype=self.fmt.uint_dtype)[self.indices()].reshape(self.shape)

    def decode(self) -> torch.Tensor:
        return bits_tensor(self.decode_bits(), self.fmt)

    def arrays(self) -> dict[str, np.ndarray]:
        book = np.asarray(self.codebook, dtype=self.fmt.uint_dtype)
        return {"codebook": book.astype(book.dtype.newbyteorder("<")).view(np.uint8),
                "code_lengths": bitpack.pack(self.code_lengths, LENGTH_BITS), "code": self.code}

    def meta(self) -> dict:
        return {"format": self.format, "shape": list(self.shape), "k": self.k, "run_index": self.run_index,
                "max_run": self.max_run, "max_len": self.max_len, "code_bits": self.code_bits}

    @classmethod
    def validate_stored(cls, arrays: Mapping[str, np.ndarray], meta: Mapping, what: str) -> None:
        """Container hook: typed, in-range metadata, exact byte lengths and zero padding, code lengths a
        complete prefix code within max_len, and the stream walked once: it must give exactly numel
        indices (no run past the end, no pattern without a code word) and end exactly at code_bits."""
        v.need_keys(meta, what, META_KEYS)
        fmt = v.need_format(meta["format"], f"{what}: codebook format", CODEBOOK_FORMATS)
        n = math.prod(v.need_shape(meta["shape"], f"{what}: shape"))
        k = v.need_int(meta["k"], f"{what}: k", 1, MAX_K)
        run_index = v.need_int(meta["run_index"], f"{what}: run_index", 0, k - 1)
        max_run = v.need_int(meta["max_run"], f"{what}: max_run", 0, MAX_RUN)
        max_len = v.need_int(meta["max_len"], f"{what}: max_len", 1, MAX_LEN_LIMIT)
        code_bits = v.need_int(meta["code_bits"], f"{what}: code_bits", 0, n * max_len)
        v.need_fields(arrays, what, FIELDS)
        v.need_array(arrays, "codebook", what, k * fmt.total_bits // 8)
        alphabet = k + max_run
        v.need_array(arrays, "code_lengths", what, bitpack.packed_nbytes(alphabet, LENGTH_BITS))
        v.need_zero_padding(arrays["code_lengths"], alphabet, LENGTH_BITS, f"{what}: code_lengths")
        v.need_array(arrays, "code", what, bitpack.packed_nbytes(code_bits, 1))
        v.need_zero_padding(arrays["code"], code_bits, 1, f"{what}: code")
        lengths = bitpack.unpack(arrays["code_lengths"], LENGTH_BITS, alphabet, np.uint8)
        if n and not lengths.any():
            raise v.Invalid(f"{what}: no symbol has a code, but the tensor has {n} weights")
        try:
            check_code(lengths, max_len)
        except PycompressError as exc:
            raise v.Invalid(f"{what}: {exc}") from None
        end = _walk(np.ascontiguousarray(arrays["code"]), code_bits, lengths, max_len, k, run_index, n, None)
        if end != code_bits:
            raise v.Invalid(f"{what}: {_WALK_ERRORS.get(end, f'the code stream ends at bit {end}, metadata says {code_bits}')}")

    @classmethod
    def from_stored(cls, arrays: dict[str, np.ndarray], meta: dict) -> "CodedClusterTensor":
        """From arrays and metadata that passed `validate_stored`."""
        fmt = get_format(meta["format"])
        book = np.frombuffer(np.ascontiguousarray(arrays["codebook"]).tobytes(), fmt.uint_dtype.newbyteorder("<"))
        lengths = bitpack.unpack(arrays["code_lengths"], LENGTH_BITS, meta["k"] + meta["max_run"], np.uint8)
        return cls(fmt.name, tuple(meta["shape"]), book.astype(fmt.uint_dtype), meta["run_index"], meta["max_run"],
                   meta["max_len"], lengths, meta["code_bits"], np.ascontiguousarray(arrays["code"]))


def _walk(code: np.ndarray, code_bits: int, lengths: np.ndarray, max_len: int, k: int, run_index: int, n: int,
          out: np.ndarray | None) -> int:
    if n == 0:
        return 0
    table = lut(lengths, max_len)
    padded = np.zeros(code.size + kernels.READ_AHEAD, np.uint8)
    padded[:code.size] = code
    return int(kernels.walk(padded, code_bits, table.symbol, table.length, max_len, k, run_index, n,
                            out if out is not None else np.zeros(1, np.uint16), out is not None))


def _cost(counts: np.ndarray, k: int, max_run: int, max_len: int) -> tuple[int, np.ndarray]:
    lengths = code_lengths_for(counts, max_len)
    return int((counts * lengths).sum()) + LENGTH_BITS * (k + max_run), lengths


def encode_indices(codebook_bits: np.ndarray, indices: np.ndarray, shape: tuple[int, ...], fmt: str | FloatFormat,
                   max_len: int = DEFAULT_MAX_LEN, max_run: int | None = None,
                   run_index: int | None = None) -> CodedClusterTensor:
    """Store a codebook (raw bits in `fmt`) and per-weight indices (C order of `shape`) entropy-coded.
    None picks the most frequent index as `run_index` and the cheapest R of RUN_CHOICES."""
    fmt = get_format(fmt)
    if fmt.name not in CODEBOOK_FORMATS:
        raise PycompressError(f"codebook format must be one of {', '.join(CODEBOOK_FORMATS)}, not {fmt.name}")
    book = np.asarray(codebook_bits, dtype=fmt.uint_dtype).reshape(-1)
    k = int(book.size)
    if not 1 <= k <= MAX_K:
        raise PycompressError(f"codebook size {k} outside 1..{MAX_K}")
    if not 1 <= max_len <= MAX_LEN_LIMIT or k > 1 << max_len:
        raise PycompressError(f"maximum code length {max_len} outside 1..{MAX_LEN_LIMIT} or too short for {k} symbols")
    idx = np.asarray(indices).reshape(-1).astype(np.int64)
    shape = tuple(int(d) for d in shape)
    if idx.size != math.prod(shape):
        raise PycompressError(f"{idx.size} indices for shape {shape}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= k):
        raise PycompressError(f"index {int(idx.max())} beyond codebook of {k}")
    counts_k = np.bincount(idx, minlength=k)
    run_index = int(np.argmax(counts_k)) if run_index is None else int(run_index)
    if not 0 <= run_index < k:
        raise PycompressError(f"run index {run_index} outside the codebook of {k}")
    choices = RUN_CHOICES if max_run is None else (int(max_run),)
    runs = _runs(idx, run_index)
    best = None
    for r in choices:
        if not 0 <= r <= MAX_RUN or (k + r) > 1 << max_len:
            if max_run is not None:
                raise PycompressError(f"run symbols {r} outside 0..{MAX_RUN} or too many for codes of {max_len} bits")
            continue
        cost, lengths = _cost(symbol_counts(idx, k, run_index, r, runs), k, r, max_len)
        if best is None or cost < best[0]:
            best = (cost, r, lengths)
    _, r, lengths = best
    sym = symbol_stream(idx, k, run_index, r)
    codes = canonical_codes(lengths)
    code_bits = int(lengths.astype(np.int64)[sym].sum())
    out = np.zeros(bitpack.packed_nbytes(code_bits, 1), np.uint8)
    written = kernels.write_codes(sym, codes.astype(np.uint64), lengths, out) if sym.size else 0
    if written != code_bits:
        raise PycompressError(f"internal error: wrote {written} code bits, planned {code_bits}")
    return CodedClusterTensor(fmt.name, shape, book.copy(), run_index, r, max_len, lengths, code_bits, out)


def from_clustered(ct: ClusteredTensor, **options) -> CodedClusterTensor:
    """The same codebook and indices as a `cluster` tensor, entropy-coded."""
    return encode_indices(ct.codebook, ct.indices(), ct.shape, ct.format, **options)
