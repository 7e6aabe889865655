"""The `.pcz` container: one safetensors file holding a whole compressed model.

Layout: every stored array is a uint8 (or uint16) safetensors entry named
`<tensor>::<field>`; the JSON metadata under `pycompress` carries the format
version, per-tensor scheme, shape, widths and a SHA-256 of each tensor's
stored bytes, and `pycompress_sha256` guards the metadata itself. Storage
schemes (exponent sharing, clustering, ...) register a class with
`arrays()`, `meta()`, `from_stored()` and `decode()`.
"""
from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from .codec import ExpShareTensor
from .errors import PycompressError
from .fileio import write_bytes_atomic
from .formats import FORMATS, bits_tensor, format_of_dtype, get_format, tensor_bits

FORMAT_VERSION = 1
MAGIC_KEY = "pycompress"


class StoredTensor(Protocol):
    scheme: str

    def arrays(self) -> dict[str, np.ndarray]: ...
    def meta(self) -> dict: ...
    def decode(self) -> torch.Tensor: ...
    def stored_bits(self) -> int: ...


SCHEMES: dict[str, Any] = {ExpShareTensor.scheme: ExpShareTensor}


def register_scheme(cls: Any) -> Any:
    """Class decorator for further storage schemes (e.g. clustering)."""
    SCHEMES[cls.scheme] = cls
    return cls


@dataclass(frozen=True, eq=False)
class CompressedModel:
    """A whole model: encoded tensors, tensors kept as they are, and optional layer graph."""

    format: str
    order: tuple[str, ...]
    tensors: dict[str, StoredTensor]
    raw: dict[str, torch.Tensor]
    graph: dict | None = None
    info: dict = field(default_factory=dict)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Decode everything, in the original key order."""
        out = {}
        for name in self.order:
            out[name] = self.tensors[name].decode() if name in self.tensors else self.raw[name]
        return out


def _raw_arrays(t: torch.Tensor) -> tuple[np.ndarray, dict]:
    t = t.detach().cpu().contiguous()
    if t.is_floating_point():
        fmt = format_of_dtype(t.dtype)
        data = tensor_bits(t).reshape(-1).astype(fmt.uint_dtype.newbyteorder("<")).view(np.uint8)
        return data, {"dtype": fmt.name, "shape": list(t.shape)}
    if t.dtype == torch.bool:
        return t.numpy().reshape(-1).view(np.uint8), {"dtype": "bool", "shape": list(t.shape)}
    arr = t.numpy().reshape(-1)
    return arr.astype(arr.dtype.newbyteorder("<")).view(np.uint8), {"dtype": str(arr.dtype), "shape": list(t.shape)}


def _raw_tensor(data: np.ndarray, meta: dict) -> torch.Tensor:
    shape = tuple(int(d) for d in meta["shape"])
    dtype = meta["dtype"]
    if dtype in FORMATS:
        fmt = get_format(dtype)
        bits = np.frombuffer(data.tobytes(), dtype=fmt.uint_dtype.newbyteorder("<")).astype(fmt.uint_dtype)
        return bits_tensor(bits.reshape(shape), fmt)
    if dtype == "bool":
        return torch.from_numpy(data.copy().view(np.bool_).reshape(shape))
    np_dtype = np.dtype(dtype)
    return torch.from_numpy(np.frombuffer(data.tobytes(), dtype=np_dtype.newbyteorder("<")).astype(np_dtype).reshape(shape).copy())


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(str(a.dtype).encode())
        h.update(struct.pack("<Q", a.nbytes))
        h.update(a.tobytes())
    return h.hexdigest()


_ST_DTYPES = {np.dtype(np.uint8): "U8", np.dtype("<u2"): "U16"}


def _safetensors_bytes(entries: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """Serialise to the safetensors layout with sorted keys, so the bytes are deterministic."""
    header: dict[str, Any] = {"__metadata__": metadata}
    chunks, offset = [], 0
    for key in sorted(entries):
        arr = np.ascontiguousarray(entries[key])
        if arr.dtype not in _ST_DTYPES:
            raise TypeError(f"container field {key} has dtype {arr.dtype}")
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[key] = {"dtype": _ST_DTYPES[arr.dtype], "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def to_bytes(model: CompressedModel) -> bytes:
    entries: dict[str, np.ndarray] = {}
    tensors_meta: dict[str, dict] = {}
    raw_meta: dict[str, dict] = {}
    for name in model.order:
        if name in model.tensors:
            st = model.tensors[name]
            arrays = {k: np.ascontiguousarray(v) for k, v in st.arrays().items()}
            tensors_meta[name] = {"scheme": st.scheme, **st.meta(), "sha256": _digest(arrays)}
            for key, arr in arrays.items():
                entries[f"{name}::{key}"] = arr
        else:
            data, meta = _raw_arrays(model.raw[name])
            raw_meta[name] = {**meta, "sha256": _digest({"data": data})}
            entries[f"{name}::data"] = data
    header = {
        "format_version": FORMAT_VERSION,
        "producer": "pycompress",
        "format": model.format,
        "order": list(model.order),
        "tensors": tensors_meta,
        "raw": raw_meta,
        "graph": model.graph,
        "info": model.info,
    }
    text = json.dumps(header, sort_keys=True, separators=(",", ":"))
    metadata = {MAGIC_KEY: text, f"{MAGIC_KEY}_sha256": hashlib.sha256(text.encode()).hexdigest()}
    return _safetensors_bytes(entries, metadata)


def save(model: CompressedModel, path: str | Path) -> None:
    """Write atomically: a failure leaves no partial file."""
    write_bytes_atomic(path, to_bytes(model))


def _read_header(blob: bytes, where: str) -> dict:
    if len(blob) < 8:
        raise PycompressError(f"{where}: truncated .pcz file ({len(blob)} bytes)")
    (hlen,) = struct.unpack("<Q", blob[:8])
    if hlen > len(blob) - 8:
        raise PycompressError(f"{where}: truncated .pcz file (header says {hlen} bytes, file has {len(blob) - 8})")
    try:
        header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PycompressError(f"{where}: corrupt .pcz file (unreadable header)") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or MAGIC_KEY not in meta:
        raise PycompressError(f"{where}: not a pycompress .pcz file (no pycompress metadata)")
    text = meta[MAGIC_KEY]
    if hashlib.sha256(text.encode()).hexdigest() != meta.get(f"{MAGIC_KEY}_sha256"):
        raise PycompressError(f"{where}: corrupt .pcz file (metadata checksum mismatch)")
    info = json.loads(text)
    version = info.get("format_version")
    if not isinstance(version, int):
        raise PycompressError(f"{where}: corrupt .pcz file (no format version)")
    if version > FORMAT_VERSION:
        raise PycompressError(f"{where}: written by a newer pycompress (container format {version}; this version reads up to {FORMAT_VERSION})")
    return info


def from_bytes(blob: bytes, where: str = "<bytes>") -> CompressedModel:
    from safetensors import SafetensorError
    from safetensors.numpy import load

    info = _read_header(blob, where)
    try:
        entries = load(blob)
    except (SafetensorError, ValueError, OSError) as exc:
        raise PycompressError(f"{where}: corrupt .pcz file ({str(exc).splitlines()[0]})") from None
    grouped: dict[str, dict[str, np.ndarray]] = {}
    for key, arr in entries.items():
        name, _, fieldname = key.rpartition("::")
        grouped.setdefault(name, {})[fieldname] = arr
    tensors: dict[str, StoredTensor] = {}
    raw: dict[str, torch.Tensor] = {}
    try:
        for name in info["order"]:
            arrays = grouped.get(name)
            if arrays is None:
                raise PycompressError(f"{where}: corrupt .pcz file (tensor {name!r} missing)")
            if name in info["tensors"]:
                meta = info["tensors"][name]
                if _digest(arrays) != meta["sha256"]:
                    raise PycompressError(f"{where}: corrupt .pcz file (checksum mismatch in tensor {name!r})")
                scheme = SCHEMES.get(meta["scheme"])
                if scheme is None:
                    raise PycompressError(f"{where}: unknown storage scheme {meta['scheme']!r} for tensor {name!r}")
                tensors[name] = scheme.from_stored(arrays, meta)
            else:
                meta = info["raw"][name]
                if _digest(arrays) != meta["sha256"]:
                    raise PycompressError(f"{where}: corrupt .pcz file (checksum mismatch in tensor {name!r})")
                raw[name] = _raw_tensor(arrays["data"], meta)
    except (KeyError, TypeError, ValueError) as exc:
        raise PycompressError(f"{where}: corrupt .pcz file (bad metadata: {exc})") from None
    return CompressedModel(
        format=get_format(info["format"]).name,
        order=tuple(info["order"]),
        tensors=tensors,
        raw=raw,
        graph=info.get("graph"),
        info=info.get("info") or {},
    )


def load(path: str | Path) -> CompressedModel:
    path = Path(path)
    if not path.exists():
        raise PycompressError(f"{path}: no such file")
    if path.is_dir():
        raise PycompressError(f"{path}: is a directory, expected a .pcz file")
    return from_bytes(path.read_bytes(), str(path))
