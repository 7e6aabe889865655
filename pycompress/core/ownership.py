"""What pycompress wrote: the marks its outputs carry, read back by the output policy in `fileio`.

A file or folder may be replaced only when it is recognisably ours by its content, never by
its name alone:

- a folder output holds a manifest (`MANIFEST`) listing every file the command wrote with its
  SHA-256; it is ours while it holds exactly those files, unchanged, plus what the tools run
  on it later add under the folder's declared `scratch` patterns (a C-simulation build,
  Vivado's runs). A file the user added or edited makes it theirs;
- a file carries a mark in its own format: the `.pcz` metadata, `producer` in a
  `.safetensors` header, a `generator` field in a JSON report or card, a `.data/pycompress`
  record in a `.pt` zip archive, the application id in a SQLite database's header.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import PycompressError

MANIFEST = ".pycompress.json"
GENERATOR = "pycompress"
SQLITE_APP_ID = 0x50435A31  # "PCZ1": PRAGMA application_id of the databases pycompress creates
ZIP_MARK = ".data/pycompress"  # a record inside a .pt archive (torch.load ignores it)
_SNIFF_LIMIT = 64 << 20


def _open_plain(path: Path):
    """A regular file opened for reading: no link followed, never blocking on a FIFO swapped in."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path}: not a regular file")
    return os.fdopen(fd, "rb")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with _open_plain(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _walk(root: Path) -> list[tuple[str, os.stat_result]]:
    """Every entry below root (relative POSIX path, lstat), links never followed."""
    out = []
    for here, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            p = Path(here) / name
            out.append((p.relative_to(root).as_posix(), os.lstat(p)))
    return out


def manifest_of(root: Path, what: str) -> dict:
    """The manifest of a folder just written: every file with its SHA-256 (and every link with its target)."""
    files, links = {}, {}
    for rel, st in sorted(_walk(root)):
        if rel == MANIFEST:
            continue
        if stat.S_ISLNK(st.st_mode):
            links[rel] = os.readlink(root / rel)
        elif stat.S_ISREG(st.st_mode):
            files[rel] = _sha256(root / rel)
    return {"generator": GENERATOR, "what": what, "files": files, **({"links": links} if links else {})}


def write_manifest(root: Path, what: str) -> None:
    (root / MANIFEST).write_text(json.dumps(manifest_of(root, what), indent=1, sort_keys=True) + "\n")


@dataclass(frozen=True)
class OutputFolder:
    """How a command recognises a folder it wrote before, and so may replace whole.

    `what` names the kind of output (the manifest must say the same); `key_file` is a file the
    command always writes; `scratch` are glob patterns of relative paths that tools run on the
    folder later may add (a C-simulation build, a Vivado run). `names` is kept for callers of the
    former names-based check and is not used: a name proves nothing.
    """

    what: str
    key_file: str = ""
    names: tuple[str, ...] = ()
    scratch: tuple[str, ...] = ()

    def _scratch(self, rel: str) -> bool:
        parts = rel.split("/")
        return any(fnmatch.fnmatchcase("/".join(parts[:i]), pat) for pat in self.scratch for i in range(1, len(parts) + 1))

    def refusal(self, path: Path) -> str | None:
        """None when `path` is this command's earlier output, holding nothing else; else why not."""
        from .validate import Invalid, parse_json

        mpath = path / MANIFEST
        try:
            st = os.lstat(mpath)
            if not stat.S_ISREG(st.st_mode) or st.st_size > _SNIFF_LIMIT:
                return f"its {MANIFEST} is not a regular file"
            manifest = parse_json(mpath.read_bytes(), MANIFEST)
        except FileNotFoundError:
            return f"no {MANIFEST} (pycompress writes one in every output folder)"
        except (OSError, Invalid) as exc:
            return f"unreadable {MANIFEST} ({exc})"
        if not isinstance(manifest, dict) or manifest.get("generator") != GENERATOR:
            return f"{MANIFEST} was not written by pycompress"
        if self.what and manifest.get("what") != self.what:  # "": any pycompress output folder
            return f"it is a pycompress {manifest.get('what')!s:.60}, not a {self.what}"
        files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
        links = manifest.get("links") if isinstance(manifest.get("links"), dict) else {}
        if self.key_file and self.key_file not in files:
            return f"no {self.key_file}"
        for rel, st in _walk(path):
            if rel == MANIFEST or self._scratch(rel):
                continue
            if stat.S_ISDIR(st.st_mode):
                if not any(f.startswith(rel + "/") for f in (*files, *links)):
                    return f"it holds {rel}/, which pycompress did not write"
                continue
            if stat.S_ISLNK(st.st_mode):
                if links.get(rel) != os.readlink(path / rel):
                    return f"it holds the link {rel}, which pycompress did not write"
            elif rel not in files:
                return f"it holds {rel}, which pycompress did not write"
            elif not stat.S_ISREG(st.st_mode) or _sha256(path / rel) != files[rel]:
                return f"{rel} was changed since pycompress wrote it"
        return None


# ---- marks inside single files ---------------------------------------------------------------------------

def _json_generator(data: bytes) -> bool:
    from .validate import Invalid, parse_json

    try:
        obj = parse_json(data, "file")
    except Invalid:
        return False
    return isinstance(obj, dict) and isinstance(obj.get("generator"), str) and obj["generator"].startswith(GENERATOR)


def _safetensors_mark(f, size: int) -> bool:
    from .validate import Invalid, parse_json

    f.seek(0)
    (n,) = struct.unpack("<Q", f.read(8))
    if n > min(size - 8, _SNIFF_LIMIT):
        return False
    try:
        header = parse_json(f.read(n), "header")
    except Invalid:
        return False
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return isinstance(meta, dict) and ("pycompress" in meta or meta.get("producer") == GENERATOR)


def written_by_pycompress(path: str | os.PathLike) -> bool:
    """Whether a regular file carries pycompress's mark (see the module doc); unreadable means no."""
    path = Path(path)
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return False
        with _open_plain(path) as f:
            head = f.read(100)
            if head.startswith(b"SQLite format 3\0"):
                return len(head) >= 72 and struct.unpack(">I", head[68:72])[0] == SQLITE_APP_ID
            if head.startswith(b"PK"):
                try:
                    with zipfile.ZipFile(f) as z:
                        return any(n.endswith("/" + ZIP_MARK) for n in z.namelist())
                except (zipfile.BadZipFile, ValueError):
                    return False
            if head.lstrip()[:1] == b"{":
                return st.st_size <= _SNIFF_LIMIT and _json_generator(head + f.read())
            if len(head) >= 9 and head[8:9] == b"{":
                return _safetensors_mark(f, st.st_size)
    except OSError:
        return False
    return False


def mark_zip(path: Path) -> None:
    """Add the pycompress record to a .pt archive torch.save just wrote (torch.load ignores extra records)."""
    with zipfile.ZipFile(path) as z:
        prefix = z.namelist()[0].split("/")[0]
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(f"{prefix}/{ZIP_MARK}", b"written by pycompress\n")


def create_sqlite(path: Path) -> None:
    """An empty SQLite database with pycompress's application id (so a later run knows it is ours)."""
    import sqlite3

    con = sqlite3.connect(path)
    try:
        con.execute(f"PRAGMA application_id = {SQLITE_APP_ID}")
        con.commit()
    finally:
        con.close()
    if not written_by_pycompress(path):
        raise PycompressError(f"{path}: could not create the study database")
