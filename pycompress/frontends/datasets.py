"""Labelled data for evaluation and retraining: a user's `.npz` or a built-in name.

Every dataset has three parts: train (ESART fine-tunes on it), validation (every lossy and
clustering choice is made on it) and test (reported beside, never selected on). A part the
user does not give is carved from `x`/`y` with a fixed seed, and `note` says so, because a
choice measured on data the model was trained on is optimistic.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pycompress.core.errors import PycompressError

BUILTIN = ("mnist5k", "digits")
PARTS = ("train", "validation", "test")
CARVE_SEED = 0
CARVE_FRACTION = 0.1  # of x/y, for each missing part
MAX_ITEMS = 1 << 31  # values in one array: refuse before allocating


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    note: str = ""  # how the parts were made, when not given by the user

    def part(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, labels) of "train", "validation" or "test"."""
        if name not in PARTS:
            raise PycompressError(f"unknown data part {name!r}; choose one of {', '.join(PARTS)}")
        return {"train": (self.x_train, self.y_train), "validation": (self.x_val, self.y_val),
                "test": (self.x_test, self.y_test)}[name]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def sizes(self) -> str:
        return f"{len(self.y_train):,} train / {len(self.y_val):,} validation / {len(self.y_test):,} test"


def load_data(spec: str, item_shape: tuple[int, ...] | None = None) -> Dataset:
    """A built-in name (mnist5k: the default LeNet split; digits: scikit-learn's 8x8 digits) or an .npz file.
    `item_shape`: the inputs a model or kernel takes; an .npz whose arrays declare another is refused from
    its headers, before any array is read."""
    if spec == "mnist5k":
        from .lenet import mnist_split

        s = mnist_split()
        return Dataset("mnist5k", s.x_train, s.y_train, s.x_val, s.y_val, s.x_test, s.y_test)
    if spec == "digits":
        from .digits_cnn import digits_split

        s = digits_split()
        (xt, yt), (xv, yv) = _carve(s.x_train, s.y_train)
        return Dataset("digits", xt, yt, xv, yv, s.x_test, s.y_test,
                       f"digits: validation carved from the {len(s.y_train):,} training images "
                       f"({len(yv):,}, seed {CARVE_SEED})")
    path = Path(spec)
    if path.suffix.lower() != ".npz":
        raise PycompressError(f"--data {spec}: expected an .npz file or one of {', '.join(BUILTIN)}")
    return _load_npz(path, item_shape)


def _carve(x: torch.Tensor, y: torch.Tensor, n: int | None = None
           ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """(rest, carved): a fixed-seed permutation, `n` items (default CARVE_FRACTION, at least one) carved off the end."""
    order = torch.from_numpy(np.random.default_rng(CARVE_SEED).permutation(len(y)))
    n = n or max(1, int(round(len(y) * CARVE_FRACTION)))
    if len(y) - n < 1:
        raise PycompressError(f"too few items ({len(y)}) to carve a validation or test part from x/y")
    keep, carved = order[:-n], order[-n:]
    return (x[keep], y[keep]), (x[carved], y[carved])


KEYS = ("x", "y", "x_val", "y_val", "x_test", "y_test")


def _check_headers(path: Path, item_shape: tuple[int, ...] | None) -> None:
    """Every check that the .npy headers allow, before any array is decompressed (a small file may declare
    gigabytes: `inputs.npz_headers` also refuses a header that does not describe its member's bytes)."""
    from pycompress.core.inputs import npz_headers

    heads = npz_headers(path, KEYS)
    for key, h in heads.items():
        if h.size > MAX_ITEMS:
            raise PycompressError(f"{path}: array {key} has {h.size:,} values, more than {MAX_ITEMS:,}")
        if key.startswith("x") and (h.dtype.kind not in "fiub" or len(h.shape) < 2):
            raise PycompressError(f"{path}: {key} must be a numeric array (items, ...), got dtype {h.dtype} shape {h.shape}")
        if key.startswith("y") and (h.dtype.kind not in "iub" or len(h.shape) != 1):
            raise PycompressError(f"{path}: {key} must be a 1-D integer array of class indices, got dtype {h.dtype} "
                                  f"shape {h.shape}")
        if key.startswith("x") and item_shape is not None and h.shape[1:] != tuple(item_shape):
            raise PycompressError(f"{path}: {key} has items of shape {h.shape[1:]} (array shape {h.shape}), "
                                  f"but the model takes {tuple(item_shape)}")


def _load_npz(path: Path, item_shape: tuple[int, ...] | None = None) -> Dataset:
    if not path.is_file():
        raise PycompressError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file")
    _check_headers(path, item_shape)
    try:
        with np.load(path, allow_pickle=False) as z:  # never unpickle object arrays
            arrays = {k: _array(path, z, k) for k in KEYS if k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise PycompressError(f"{path}: not a readable .npz file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    for need in ("x", "y"):
        if need not in arrays:
            raise PycompressError(f"{path}: no array {need!r} (expected x, y and optionally x_val, y_val, x_test, y_test)")
    parts = {}
    for suffix in ("", "_val", "_test"):
        xk, yk = f"x{suffix}", f"y{suffix}"
        if (xk in arrays) != (yk in arrays):
            raise PycompressError(f"{path}: {xk} and {yk} must be given together")
        if xk in arrays:
            parts[suffix] = _pair(path, xk, arrays[xk], yk, arrays[yk])
    shapes = {tuple(x.shape[1:]) for x, _ in parts.values()}
    if len(shapes) != 1:
        raise PycompressError(f"{path}: the x arrays have different item shapes {sorted(shapes)}")
    notes = []
    x, y = parts[""]
    n = max(1, int(round(len(y) * CARVE_FRACTION)))  # of the whole x/y, for each missing part
    if "_test" not in parts:
        (x, y), parts["_test"] = _carve(x, y, n)
        notes.append(f"test ({len(parts['_test'][1]):,})")
    if "_val" not in parts:
        (x, y), parts["_val"] = _carve(x, y, n)
        notes.append(f"validation ({len(parts['_val'][1]):,})")
    note = f"{path.name}: {' and '.join(notes)} carved from x/y (seed {CARVE_SEED})" if notes else ""
    return Dataset(path.name, x, y, *parts["_val"], *parts["_test"], note)


def _array(path: Path, z, key: str) -> np.ndarray:
    a = z[key]
    if a.size > MAX_ITEMS:
        raise PycompressError(f"{path}: array {key} has {a.size} values, more than {MAX_ITEMS}")
    return a


def _pair(path: Path, xk: str, x: np.ndarray, yk: str, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    if x.dtype.kind not in "fiub" or x.ndim < 2:
        raise PycompressError(f"{path}: {xk} must be a numeric array (items, ...), got dtype {x.dtype} shape {x.shape}")
    if y.dtype.kind not in "iub" or y.ndim != 1:
        raise PycompressError(f"{path}: {yk} must be a 1-D integer array of class indices, got dtype {y.dtype} shape {y.shape}")
    if len(x) != len(y) or len(y) == 0:
        raise PycompressError(f"{path}: {xk} has {len(x)} items and {yk} {len(y)}; expected the same, at least one")
    if y.min() < 0:
        raise PycompressError(f"{path}: {yk} holds a negative class index ({int(y.min())})")
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if not torch.isfinite(xt).all():
        raise PycompressError(f"{path}: {xk} holds NaN or infinite values")
    return xt, torch.from_numpy(y.astype(np.int64))
