"""State dicts in and out: `.pt`/`.pth` (weights_only, never arbitrary unpickling) and `.safetensors`."""
from __future__ import annotations

import io
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import torch

from .errors import PycompressError
from .inputs import check_model_file


def _check_readable(path: Path) -> None:
    """A regular file (a FIFO or device is never read); a zip archive is also sized from its directory."""
    check_model_file(path, "a model file")


SUPPORTED_DTYPES = frozenset({
    torch.float32, torch.bfloat16, torch.float16, torch.float64, torch.bool,
    torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
})


def validate_state_dict(state_dict: dict, where: str = "model") -> dict[str, torch.Tensor]:
    """Names must be strings, values dense tensors of a dtype the container can hold."""
    for name, t in state_dict.items():
        if not isinstance(name, str) or not isinstance(t, torch.Tensor):
            raise PycompressError(f"{where}: expected a state_dict (a mapping of names to tensors)")
        if not name.isascii():
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                raise PycompressError(f"{where}: tensor name {name!r} is not valid Unicode (a lone surrogate)") from None
        if t.dtype not in SUPPORTED_DTYPES or t.is_quantized or t.layout != torch.strided:
            raise PycompressError(f"{where}: unsupported dtype {t.dtype} in tensor {name!r}; "
                                  "supported: float32, bfloat16, float16, float64, integer and bool tensors")
    return dict(state_dict)


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
    """Write `.safetensors` or `.pt` atomically, with pycompress's mark (so a later run may replace it)."""
    from .fileio import atomic_path
    from .ownership import GENERATOR, mark_zip

    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    if path.suffix.lower() not in (".safetensors", ".pt", ".pth"):
        raise PycompressError(f"{path}: output must end in .safetensors, .pt or .pth")
    with atomic_path(path) as tmp:
        try:
            if path.suffix.lower() == ".safetensors":
                from safetensors.torch import save_file

                save_file(tensors, str(tmp), metadata={"producer": GENERATOR})
            else:
                buf = io.BytesIO()  # torch's own writer reports a full disk as "unexpected pos": write it ourselves
                torch.save(tensors, buf)
                tmp.write_bytes(buf.getbuffer())
                del buf
                mark_zip(tmp)
        except (OSError, RuntimeError, Exception) as exc:  # safetensors and torch wrap ENOSPC/EFBIG in their own types
            if isinstance(exc, PycompressError):
                raise
            reason = next((w for w in ("No space left on device", "File too large", "Disk quota exceeded")
                           if w in str(exc)), (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160])
            raise PycompressError(f"{path}: cannot write it ({reason})") from None
