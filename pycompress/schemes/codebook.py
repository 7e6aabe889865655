"""Weight sharing storage: per-tensor codebook of k shared values + ceil(log2 k)-bit indices.

This is the container scheme only (how a clustered tensor is stored and decoded);
the clustering that chooses the codebook lives in `pycompress.sharing.cluster`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from pycompress.core import bitpack
from pycompress.core import validate as v
from pycompress.core.container import register_scheme
from pycompress.core.errors import PycompressError
from pycompress.core.formats import FloatFormat, StoredTensorShape, bits_tensor, get_format

CODEBOOK_FORMATS = ("fp32", "bf16")


def codebook_index_bits(k: int) -> int:
    """ceil(log2 k), at least one bit."""
    return max(1, math.ceil(math.log2(k))) if k > 1 else 1


@register_scheme
@dataclass(frozen=True, eq=False)
class ClusteredTensor(StoredTensorShape):
    format: str  # codebook storage format
    shape: tuple[int, ...]
    codebook: np.ndarray  # raw bits of the k shared values in `format`
    index_bits: int
    index: np.ndarray  # uint8, packed index_bits/value

    scheme = "cluster"

    @property
    def k(self) -> int:
        return int(self.codebook.size)

    def stored_bits(self) -> int:
        """N*ceil(log2 k) + k*bits(codebook format)."""
        return self.numel * self.index_bits + self.k * self.fmt.total_bits

    def indices(self) -> np.ndarray:
        idx = bitpack.unpack(self.index, self.index_bits, self.numel, np.uint16)
        if idx.size and int(idx.max()) >= self.k:
            raise PycompressError(f"corrupt tensor: codebook index {int(idx.max())} beyond codebook of {self.k}")
        return idx

    def decode_bits(self) -> np.ndarray:
        book = np.asarray(self.codebook, dtype=self.fmt.uint_dtype)
        return book[self.indices()].reshape(self.shape)

    def decode(self) -> torch.Tensor:
        return bits_tensor(self.decode_bits(), self.fmt)

    def arrays(self) -> dict[str, np.ndarray]:
        book = np.asarray(self.codebook, dtype=self.fmt.uint_dtype)
        return {"codebook": book.astype(book.dtype.newbyteorder("<")).view(np.uint8), "index": self.index}

    def meta(self) -> dict:
        return {"format": self.format, "shape": list(self.shape), "index_bits": self.index_bits, "k": self.k}

    @classmethod
    def validate_stored(cls, arrays: dict[str, np.ndarray], meta: dict, what: str) -> None:
        """Container hook: codebook format, k, widths and byte lengths exact, every index inside the codebook."""
        v.need_keys(meta, what, ("format", "shape", "index_bits", "k"))
        fmt = v.need_format(meta["format"], f"{what}: codebook format", CODEBOOK_FORMATS)
        n = math.prod(v.need_shape(meta["shape"], f"{what}: shape"))
        k = v.need_int(meta["k"], f"{what}: k", 1, 256)
        ibits = v.need_int(meta["index_bits"], f"{what}: index_bits", 1, 8)
        if ibits != codebook_index_bits(k):
            raise v.Invalid(f"{what}: index_bits {ibits} for a codebook of {k}, expected {codebook_index_bits(k)}")
        v.need_fields(arrays, what, ("codebook", "index"))
        v.need_array(arrays, "codebook", what, k * fmt.total_bits // 8)
        v.need_array(arrays, "index", what, bitpack.packed_nbytes(n, ibits))
        v.need_zero_padding(arrays["index"], n, ibits, f"{what}: index")
        if k < 1 << ibits and v.packed_max(arrays["index"], ibits, n) >= k:
            raise v.Invalid(f"{what}: an index points beyond the codebook of {k}")

    @classmethod
    def from_stored(cls, arrays: dict[str, np.ndarray], meta: dict) -> "ClusteredTensor":
        fmt = get_format(meta["format"])
        raw = np.ascontiguousarray(arrays["codebook"], np.uint8)
        book = np.frombuffer(raw.tobytes(), dtype=fmt.uint_dtype.newbyteorder("<")).astype(fmt.uint_dtype)
        if book.size != int(meta["k"]):
            raise PycompressError(f"corrupt tensor: codebook holds {book.size} values, metadata says {meta['k']}")
        return cls(fmt.name, tuple(int(d) for d in meta["shape"]), book, int(meta["index_bits"]), arrays["index"])


def make_clustered(codebook_bits: np.ndarray, indices: np.ndarray, shape: tuple[int, ...], fmt: str | FloatFormat) -> ClusteredTensor:
    """Store given codebook (raw bits in `fmt`) and per-weight indices (C order of `shape`)."""
    fmt = get_format(fmt)
    if fmt.name not in CODEBOOK_FORMATS:
        raise PycompressError(f"codebook format must be one of {', '.join(CODEBOOK_FORMATS)}, not {fmt.name}")
    book = np.asarray(codebook_bits, dtype=fmt.uint_dtype).reshape(-1)
    if not 1 <= book.size <= 256:
        raise PycompressError(f"codebook size {book.size} outside 1..256")
    idx = np.asarray(indices).reshape(-1)
    if idx.size != int(np.prod(shape, dtype=np.int64)):
        raise PycompressError(f"{idx.size} indices for shape {tuple(shape)}")
    if idx.size and int(idx.max()) >= book.size:
        raise PycompressError(f"index {int(idx.max())} beyond codebook of {book.size}")
    bits = codebook_index_bits(book.size)
    return ClusteredTensor(fmt.name, tuple(int(d) for d in shape), book, bits, bitpack.pack(idx.astype(np.uint16), bits))
