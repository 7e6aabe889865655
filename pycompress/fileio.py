"""File I/O at the edges: safe model loading and atomic writes."""
from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
import warnings
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch

from .errors import PycompressError


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the permissions open() would
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty folder beside `path`; on success it replaces `path` whole, on failure it vanishes.

    Every generated tree (HLS project, RTL images, reports, Vivado build folders) goes through
    here, so a crash never leaves a half-written output and an old output survives a failed run.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PycompressError(f"{path}: exists and is not a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; outputs are ordinary folders
    try:
        yield tmp
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
        try:
            os.replace(tmp, path)
        except BaseException:
            if old is not None:
                os.replace(old / "previous", path)
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise PycompressError(f"{path}: no such file")
    if path.is_dir():
        raise PycompressError(f"{path}: is a directory, expected a model file")


SUPPORTED_DTYPES = frozenset({
    torch.float32, torch.bfloat16, torch.float16, torch.float64, torch.bool,
    torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
})


def validate_state_dict(state_dict: dict, where: str = "model") -> dict[str, torch.Tensor]:
    """Names must be strings, values dense tensors of a dtype the container can hold."""
    for name, t in state_dict.items():
        if not isinstance(name, str) or not isinstance(t, torch.Tensor):
            raise PycompressError(f"{where}: expected a state_dict (a mapping of names to tensors)")
        if t.dtype not in SUPPORTED_DTYPES or t.is_quantized or t.layout != torch.strided:
            raise PycompressError(f"{where}: unsupported dtype {t.dtype} in tensor {name!r}; "
                                  "supported: float32, bfloat16, float16, float64, integer and bool tensors")
    return dict(state_dict)


def read_json_object(path: str | os.PathLike, what: str) -> dict:
    """A JSON object from a file the user (or an earlier run) left us: one clear error if it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PycompressError(f"{path}: unreadable {what} ({exc})") from None
    if not isinstance(data, dict):
        raise PycompressError(f"{path}: {what} is not a JSON object")
    return data


def load_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a `.pt`/`.pth` state_dict (weights_only, never arbitrary unpickling) or a `.safetensors` file."""
    path = Path(path)
    _check_readable(path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            tensors = dict(load_file(str(path)))
        except (SafetensorError, OSError, ValueError) as exc:
            raise PycompressError(f"{path}: not a readable .safetensors file ({str(exc).splitlines()[0]})") from None
        return validate_state_dict(tensors, str(path))
    if suffix in (".pt", ".pth", ".bin"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if "weights_only" in str(exc) or "Unsupported global" in str(exc):
                raise PycompressError(f"{path}: refused to load: the pickle holds objects other than tensors (loaded with weights_only=True)") from None
            raise PycompressError(f"{path}: not a PyTorch state_dict file ({first})") from None
        except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, AttributeError, KeyError, TypeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PycompressError(f"{path}: not a PyTorch state_dict file ({first})") from None
        if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
            obj = obj["state_dict"]
        if not isinstance(obj, dict):
            raise PycompressError(f"{path}: expected a state_dict (a mapping of names to tensors)")
        return validate_state_dict(obj, str(path))
    if suffix == ".pcz":
        raise PycompressError(f"{path}: is a compressed model; decompress it first or pass it to a command that takes .pcz")
    raise PycompressError(f"{path}: unknown model file type {suffix or '(none)'}; expected .pt, .pth or .safetensors")


def save_state_dict(state_dict: dict[str, torch.Tensor], path: str | os.PathLike) -> None:
    """Write `.safetensors` or `.pt` atomically."""
    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import save_file

            save_file(tensors, str(tmp))
        elif path.suffix.lower() in (".pt", ".pth"):
            torch.save(tensors, str(tmp))
        else:
            raise PycompressError(f"{path}: output must end in .safetensors, .pt or .pth")
