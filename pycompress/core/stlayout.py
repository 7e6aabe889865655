"""The outer safetensors layout of a `.pcz`: header length, bounded header JSON and the entry table,
checked against the file size before any data is read (the first step of `container.load`)."""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import validate as v
from .errors import PycompressError

MAGIC_KEY = "pycompress"
MAX_TENSORS = 100_000
_ST_DTYPES_IN = {"U8": np.dtype(np.uint8), "U16": np.dtype("<u2")}


@dataclass(frozen=True)
class _Entry:
    """One safetensors entry: where its bytes lie in the data section."""

    dtype: np.dtype
    offset: int
    nbytes: int


@dataclass(frozen=True)
class _Layout:
    """The outer safetensors header, checked against the file size before any data is read."""

    header_len: int
    metadata: dict
    entries: dict[str, _Entry]


def _corrupt(where: str, what: str) -> PycompressError:
    return PycompressError(f"{where}: corrupt .pcz file ({what})")


def _layout(size: int, read: Callable[[int, int], bytes], where: str) -> _Layout:
    """Header length, header JSON (bounded) and entry table; the declared data must fill the file exactly."""
    if size < 8:
        raise PycompressError(f"{where}: truncated .pcz file ({size} bytes)")
    (hlen,) = struct.unpack("<Q", read(0, 8))
    if hlen > size - 8:
        raise PycompressError(f"{where}: truncated .pcz file (header says {hlen} bytes, file has {size - 8})")
    if hlen > v.MAX_JSON_BYTES:
        raise _corrupt(where, f"header of {hlen} bytes, limit {v.MAX_JSON_BYTES}")
    try:
        header = v.parse_json(read(8, hlen), "header")
    except v.Invalid as exc:
        raise _corrupt(where, str(exc)) from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get(MAGIC_KEY), str):
        raise PycompressError(f"{where}: not a pycompress .pcz file (no pycompress metadata)")
    entries, end = {}, 0
    try:
        for key, e in header.items():
            if key == "__metadata__":
                continue
            v.need_dict(e, f"entry {key!r}")
            v.need_keys(e, f"entry {key!r}", ("dtype", "shape", "data_offsets"))
            dtype = _ST_DTYPES_IN.get(e["dtype"]) if isinstance(e["dtype"], str) else None
            if dtype is None:
                raise v.Invalid(f"entry {key!r}: dtype {v._short(e['dtype'])}")
            dims = [v.need_int(d, f"entry {key!r} shape", 0, size) for d in v.need_list(e["shape"], f"entry {key!r} shape", 1)]
            offsets = v.need_list(e["data_offsets"], f"entry {key!r} offsets", 2)
            lo, hi = (v.need_int(o, f"entry {key!r} offsets", 0, size) for o in offsets) if len(offsets) == 2 else (1, 0)
            if hi < lo or hi - lo != math.prod(dims) * dtype.itemsize:
                raise v.Invalid(f"entry {key!r}: offsets {offsets} do not fit shape {dims}")
            entries[key] = _Entry(dtype, lo, hi - lo)
            end += hi - lo
        if len(entries) > 4 * MAX_TENSORS:
            raise v.Invalid(f"{len(entries)} entries, limit {4 * MAX_TENSORS}")
    except v.Invalid as exc:
        raise _corrupt(where, str(exc)) from None
    at = 0
    for key, e in sorted(entries.items(), key=lambda kv: kv[1].offset):
        if e.offset != at:
            raise _corrupt(where, f"entry {key!r} does not follow the previous one")
        at += e.nbytes
    if 8 + hlen + end > size:
        raise PycompressError(f"{where}: truncated .pcz file (header declares {end} bytes of data, file has {size - 8 - hlen})")
    if 8 + hlen + end < size:
        raise _corrupt(where, f"{size - 8 - hlen - end} bytes after the declared data")
    return _Layout(hlen, meta, entries)
