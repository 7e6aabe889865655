"""Bounded inputs: every file a command reads is a regular file, sized before it is read.

A FIFO or device never blocks or streams forever (refused from its mode, and opened
non-blocking so that one swapped in after the check cannot block either); a JSON file is
refused above a size cap before it is parsed (`validate.parse_json`: linear in time and
memory); a zip archive (.pt, .pt2, .npz) is sized from its central directory, and a member
that declares far more than the archive weighs is refused before anything is decompressed;
an .npy member's header (shape, dtype) must match its byte length, so that no loader
allocates what a header merely declares.
"""
from __future__ import annotations

import math
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import PycompressError

MAX_JSON_FILE = 64 << 20  # a JSON file we read (manifests, plans, cards, reports)
ARCHIVE_FREE = 16 << 20  # bytes any zip archive may declare, whatever it weighs
ARCHIVE_RATIO = 100  # beyond ARCHIVE_FREE: declared bytes per byte of archive (real data deflates 2-10x)
NPY_HEADER_MAX = 10_000  # numpy's own default bound on an .npy header


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular(path: str | os.PathLike, what: str = "a model file") -> int:
    """The size of `path`, a regular file (links followed); anything else is one line, never opened."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise PycompressError(f"{path}: no such file") from None
    except OSError as exc:
        raise PycompressError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise PycompressError(_not_regular(path, st.st_mode, what))
    return st.st_size


def _not_regular(path: Path, mode: int, what: str) -> str:
    kind = _kind(mode)
    if kind == "a directory":
        return f"{path}: is a directory, expected {what}"
    return f"{path}: not a regular file ({kind}), expected {what}" if kind.startswith("a ") else \
        f"{path}: not a regular file, expected {what}"


def open_regular(path: str | os.PathLike, what: str = "a file") -> tuple[int, BinaryIO]:
    """(size, open unbuffered binary file) of a regular file; FIFOs, devices, sockets and folders refused unread."""
    path = Path(path)
    check_regular(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO swapped in cannot block us
    except FileNotFoundError:
        raise PycompressError(f"{path}: no such file") from None
    except OSError as exc:
        raise PycompressError(f"{path}: cannot read ({exc.strerror or exc})") from None
    f = os.fdopen(fd, "rb", buffering=0)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        f.close()
        raise PycompressError(_not_regular(path, st.st_mode, what))
    return st.st_size, f


def read_regular(path: str | os.PathLike, what: str, limit: int) -> bytes:
    """The whole of a regular file of at most `limit` bytes (refused from its size, before reading)."""
    size, f = open_regular(path, what)
    with f:
        if size > limit:
            raise PycompressError(f"{path}: {size:,} bytes, more than {limit:,} for {what}")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise PycompressError(f"{path}: grew beyond {limit:,} bytes while read")
    return data


def read_json_object(path: str | os.PathLike, what: str, limit: int = MAX_JSON_FILE) -> dict:
    """A JSON object from a file the user (or an earlier run) left us: bounded, one clear line if it is not one."""
    from .validate import Invalid, parse_json

    path = Path(path)
    try:
        data = read_regular(path, "a regular file", limit)
    except PycompressError as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        raise PycompressError(f"{path}: unreadable {what} ({reason})") from None
    try:
        obj = parse_json(data, what)
    except Invalid as exc:
        raise PycompressError(f"{path}: unreadable {what} ({exc})") from None
    if not isinstance(obj, dict):
        raise PycompressError(f"{path}: {what} is not a JSON object")
    return obj


# ---- zip archives (.pt, .pt2, .npz) ------------------------------------------------------------------

def archive_limit(size: int) -> int:
    """The most bytes an archive of `size` bytes may declare in all."""
    return max(ARCHIVE_FREE, ARCHIVE_RATIO * size)


def check_archive(path: str | os.PathLike, what: str = "archive") -> list[zipfile.ZipInfo]:
    """The members of a zip archive, refused from the central directory when they declare more than
    `archive_limit` of the file's size (a deflate bomb), before any member is decompressed."""
    size, f = open_regular(path, what)
    with f:
        try:
            with zipfile.ZipFile(f) as z:
                infos = z.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise PycompressError(f"{path}: not a readable {what} ({str(exc)[:120] or type(exc).__name__})") from None
    declared = sum(i.file_size for i in infos)
    if declared > archive_limit(size):
        big = max(infos, key=lambda i: i.file_size)
        raise PycompressError(f"{path}: its members declare {declared:,} bytes unpacked from {size:,} "
                              f"({big.filename[:80]!r}: {big.file_size:,}); more than {archive_limit(size):,} "
                              f"({ARCHIVE_RATIO}x the file): refused before decompressing")
    return infos


def check_model_file(path: str | os.PathLike, what: str = "a model file") -> None:
    """A regular file; a zip archive (.pt, .pt2) is also sized from its central directory."""
    check_regular(path, what)
    if zipfile.is_zipfile(path):
        check_archive(path, what)


@dataclass(frozen=True)
class NpyHeader:
    """What an .npy member declares, checked against its length before its data is read."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def npz_headers(path: str | os.PathLike, names: tuple[str, ...]) -> dict[str, NpyHeader]:
    """Shape and dtype of each named array of an .npz, read from the .npy headers only; each header must
    describe exactly its member's bytes (so np.load allocates what the file holds, never what it claims)."""
    path = Path(path)
    infos = {i.filename: i for i in check_archive(path, "an .npz file")}
    out: dict[str, NpyHeader] = {}
    with zipfile.ZipFile(path) as z:
        for name in names:
            info = infos.get(f"{name}.npy")
            if info is None:
                continue
            try:
                with z.open(info) as m:
                    version = np.lib.format.read_magic(m)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(m, max_header_size=NPY_HEADER_MAX)
                    else:
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(m, max_header_size=NPY_HEADER_MAX)
                    header_len = m.tell()
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, SyntaxError) as exc:
                raise PycompressError(f"{path}: array {name}: unreadable .npy header ({str(exc)[:120]})") from None
            if dtype.hasobject:
                raise PycompressError(f"{path}: array {name} holds Python objects; numeric arrays only")
            header = NpyHeader(tuple(int(d) for d in shape), dtype)
            if header.size * dtype.itemsize != info.file_size - header_len:
                raise PycompressError(f"{path}: array {name} declares shape {header.shape} of {dtype} "
                                      f"({header.size * dtype.itemsize:,} bytes) but holds {info.file_size - header_len:,}")
            out[name] = header
    return out
