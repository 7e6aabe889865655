"""The `.pcz` container: one safetensors file holding a whole compressed model.

Layout: every stored array is a uint8 (or uint16) safetensors entry named
`<tensor>::<field>`; the JSON metadata under `pycompress` carries the format
version, per-tensor scheme, shape, widths and a SHA-256 of each tensor's
stored bytes, and `pycompress_sha256` guards the metadata itself. Storage
schemes (exponent sharing, clustering, ...) register a class with
`arrays()`, `meta()`, `validate_stored()`, `from_stored()` and `decode()`.

Reading is the validation boundary (checksums are unkeyed, so a file may be
crafted): the header is bounded and checked against the file size before the
data is read, then every field is type- and range-checked (`validate.py` and
each scheme's `validate_stored`) before anything is decoded.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch

from . import validate as v
from .errors import PycompressError
from .fileio import write_bytes_atomic
from .inputs import open_regular
from .stlayout import MAX_TENSORS, _corrupt, _Layout, _layout
from .formats import FORMATS, bits_tensor, format_of_dtype, get_format, tensor_bits

FORMAT_VERSION = 1
MAGIC_KEY = "pycompress"


class StoredTensor(Protocol):
    """A storage scheme. `validate_stored` is the scheme's part of the validation boundary: it checks
    every metadata field and stored byte length (raising `validate.Invalid`), so that `from_stored`
    and `decode` cannot fail on the data of a container that passed."""

    scheme: str

    @classmethod
    def validate_stored(cls, arrays: dict[str, np.ndarray], meta: dict, what: str) -> None: ...
    @classmethod
    def from_stored(cls, arrays: dict[str, np.ndarray], meta: dict) -> "StoredTensor": ...

    def arrays(self) -> dict[str, np.ndarray]: ...
    def meta(self) -> dict: ...
    def decode(self) -> torch.Tensor: ...
    def stored_bits(self) -> int: ...


SCHEMES: dict[str, Any] = {}  # filled by the packages plugins.SCHEME_PACKAGES lists (see scheme_class)


def register_scheme(cls: Any) -> Any:
    """Class decorator for further storage schemes (e.g. clustering). Each validates its own fields in
    `validate_stored`, so that nothing is decoded before the whole container has been checked."""
    if not callable(getattr(cls, "validate_stored", None)):
        raise TypeError(f"storage scheme {cls.__name__} has no validate_stored hook")
    SCHEMES[cls.scheme] = cls
    return cls


def scheme_class(name: str) -> Any:
    """The registered class of a scheme name, or None; the scheme packages are imported on the first call."""
    from .plugins import load_scheme_packages

    load_scheme_packages()
    return SCHEMES.get(name)


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
    if model.graph is not None:  # the loader's check of the graph, before writing a file it would refuse
        shapes = {n: tuple(m["shape"]) for n, m in {**tensors_meta, **raw_meta}.items()}
        try:
            _check_graph(model.graph, shapes)
        except PycompressError as exc:  # validate.Invalid included
            raise PycompressError(f"cannot write this model as a .pcz: {exc}") from None
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


# What `_raw_arrays` writes (fileio.SUPPORTED_DTYPES): name -> bytes per element
MODEL_FORMAT_SCHEMES = ("expshare", "huffman")  # values in the model's storage format (a codebook may differ)
RAW_DTYPES = {"fp32": 4, "bf16": 2, "fp16": 2, "fp64": 8, "bool": 1,
              "uint8": 1, "int8": 1, "int16": 2, "int32": 4, "int64": 8}
_TOP_KEYS = ("format_version", "producer", "format", "order", "tensors", "raw", "graph", "info")


def _metadata(layout: _Layout, where: str) -> dict:
    """The pycompress metadata: checksum, bounded JSON, version (before the rest, which a newer version may change)."""
    text = layout.metadata[MAGIC_KEY]
    if hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() != layout.metadata.get(f"{MAGIC_KEY}_sha256"):
        raise _corrupt(where, "metadata checksum mismatch")
    try:
        info = v.parse_json(text, "metadata")
    except v.Invalid as exc:
        raise _corrupt(where, str(exc)) from None
    version = info.get("format_version") if isinstance(info, dict) else None
    if type(version) is not int or version < 1:
        raise _corrupt(where, "no format version")
    if version > FORMAT_VERSION:
        raise PycompressError(f"{where}: written by a newer pycompress (container format {version}; this version reads up to {FORMAT_VERSION})")
    return info


def _check_raw(arrays: dict[str, np.ndarray], meta: dict, what: str) -> tuple[int, ...]:
    v.need_keys(meta, what, ("dtype", "shape"))
    dtype = meta["dtype"]
    if not isinstance(dtype, str) or dtype not in RAW_DTYPES:
        raise v.Invalid(f"{what}: dtype {v._short(dtype)} is not one compress writes ({', '.join(RAW_DTYPES)})")
    shape = v.need_shape(meta["shape"], f"{what}: shape")
    v.need_fields(arrays, what, ("data",))
    data = v.need_array(arrays, "data", what, math.prod(shape) * RAW_DTYPES[dtype])
    if dtype == "bool" and data.size and int(data.max()) > 1:
        raise v.Invalid(f"{what}: bool data holds values other than 0 and 1")
    return shape


def _check_model(info: dict, grouped: dict[str, dict[str, np.ndarray]], where: str) -> None:
    """Every metadata field typed and in range, every stored byte accounted for (checksums first)."""
    v.need_keys(info, "metadata", _TOP_KEYS)
    v.need_str(info["producer"], "producer", 256)
    v.need_format(info["format"], "format")
    order = [v.need_str(n, "tensor name") for n in v.need_list(info["order"], "order", MAX_TENSORS)]
    tensors, raw = v.need_dict(info["tensors"], "tensors"), v.need_dict(info["raw"], "raw")
    v.need_dict(info["info"], "info")
    if len(set(order)) != len(order) or set(tensors) & set(raw) or set(tensors) | set(raw) != set(order):
        raise v.Invalid("order, tensors and raw do not list the same tensors once each")
    stray = sorted(set(grouped) - set(order))
    if stray:
        raise v.Invalid(f"stored data for unlisted tensor {stray[0]!r}")
    shapes: dict[str, tuple[int, ...]] = {}
    for name in order:
        arrays, what = grouped.get(name), f"tensor {name!r}"
        if arrays is None:
            raise _corrupt(where, f"tensor {name!r} missing")
        meta = v.need_dict(tensors.get(name, raw.get(name)), what)
        digest = meta.get("sha256")
        if not isinstance(digest, str) or _digest(arrays) != digest:
            raise _corrupt(where, f"checksum mismatch in tensor {name!r}")
        fields = {k: x for k, x in meta.items() if k not in ("sha256", "scheme")}
        held = fields.get("dtype" if name in raw else "format")
        if (name in raw or meta.get("scheme") in MODEL_FORMAT_SCHEMES) and isinstance(held, str) and held in FORMATS \
                and held != info["format"]:
            raise v.Invalid(f"{what} is stored in {held}, the model's format is {info['format']}")
        if name in raw:
            if "scheme" in meta:
                raise v.Invalid(f"{what}: raw tensor with a scheme")
            shapes[name] = _check_raw(arrays, fields, what)
            continue
        scheme = scheme_class(meta.get("scheme")) if isinstance(meta.get("scheme"), str) else None
        if scheme is None:
            raise PycompressError(f"{where}: unknown storage scheme {v._short(meta.get('scheme'))} for tensor {name!r}")
        if hasattr(scheme, "validate_stored"):
            scheme.validate_stored(arrays, fields, what)
        else:  # a scheme without its hook yet: at least no traceback from its constructor
            try:
                scheme.from_stored(arrays, meta)
            except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
                raise v.Invalid(f"{what}: {type(exc).__name__}: {str(exc)[:200]}") from None
        shapes[name] = v.need_shape(fields.get("shape"), f"{what}: shape")
    if info["graph"] is not None:
        _check_graph(v.need_dict(info["graph"], "graph"), shapes)


def _check_graph(graph: dict, shapes: dict[str, tuple[int, ...]]) -> None:
    from .graph import Graph

    Graph.from_dict(graph).check_params(shapes)


def _decode(blob: bytes | bytearray | memoryview, layout: _Layout, where: str) -> CompressedModel:
    info = _metadata(layout, where)
    base = 8 + layout.header_len
    grouped: dict[str, dict[str, np.ndarray]] = {}
    for key, e in layout.entries.items():
        name, sep, fieldname = key.rpartition("::")
        if not sep:
            raise _corrupt(where, f"entry {key!r} is not <tensor>::<field>")
        grouped.setdefault(name, {})[fieldname] = np.frombuffer(blob, e.dtype, e.nbytes // e.dtype.itemsize, base + e.offset)
    try:
        _check_model(v.need_dict(info, "metadata"), grouped, where)
    except PycompressError as exc:
        message = str(exc)
        raise PycompressError(message if message.startswith(f"{where}: ") else f"{where}: invalid .pcz file ({message})") from None
    # validated: the constructors below cannot fail on the data
    tensors: dict[str, StoredTensor] = {}
    raw: dict[str, torch.Tensor] = {}
    for name in info["order"]:
        if name in info["tensors"]:
            meta = info["tensors"][name]
            tensors[name] = SCHEMES[meta["scheme"]].from_stored(grouped[name], meta)
        else:
            raw[name] = _raw_tensor(grouped[name]["data"], info["raw"][name])
    return CompressedModel(
        format=get_format(info["format"]).name,
        order=tuple(info["order"]),
        tensors=tensors,
        raw=raw,
        graph=info["graph"],
        info=info["info"],
    )


def from_bytes(blob: bytes | bytearray, where: str = "<bytes>") -> CompressedModel:
    """Validate, then decode, a whole container held in memory."""
    view = memoryview(blob)
    return _decode(blob, _layout(len(view), lambda at, n: bytes(view[at:at + n]), where), where)


def read_regular(path: Path, what: str = "a .pcz file") -> tuple[int, Any]:
    """(size, open binary file) of a regular file; devices, FIFOs and folders refused with one line, never read."""
    return open_regular(path, what)


def load(path: str | Path) -> CompressedModel:
    """Read a container with a size bound: the header is checked against the file size before the data is read."""
    path = Path(path)
    where = str(path)
    size, f = read_regular(path)
    try:
        with f:
            def read(at: int, n: int) -> bytes:
                return os.pread(f.fileno(), n, at)

            layout = _layout(size, read, where)
            blob = bytearray(size)
            got = f.readinto(blob)
            while got < size:
                more = f.readinto(memoryview(blob)[got:])
                if not more:
                    raise PycompressError(f"{where}: truncated .pcz file (changed while read)")
                got += more
    except OSError as exc:
        raise PycompressError(f"{where}: cannot read ({exc.strerror or exc})") from None
    return _decode(blob, layout, where)
