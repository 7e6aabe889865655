"""The output policy: every file and folder a command writes, side files included, goes through here.

One rule set, decided before any work (`check_output`) and kept at the moment of writing
(`atomic_path`, `atomic_directory`, `write_inside`):

- nothing is written through a symbolic link (an output, a side file, or a folder on the way
  inside an output folder);
- a device, FIFO, socket or folder is never replaced by a file, nor a file by a folder;
- a regular file is replaced only when pycompress wrote it (its mark, `ownership.py`) or with
  `--force`; a side file (a model card, a study database) that is not ours is refused: there
  is no `--force` for a file the user did not name;
- a folder is replaced whole only when its manifest says this command wrote it and it holds
  nothing else (no added or edited file); an empty folder may be filled;
- writes are atomic: a temporary beside the target, renamed over it only on success, so a
  failing or interrupted command leaves the old output or the complete new one.
"""
from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from .errors import PycompressError
from .inputs import read_json_object  # noqa: F401  (its former home)
from .ownership import MANIFEST, OutputFolder, write_manifest, written_by_pycompress  # noqa: F401
from .statedict import SUPPORTED_DTYPES, _check_readable, load_state_dict, save_state_dict, validate_state_dict  # noqa: F401

_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"))
_WRITE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO}
_committed: list[Path] = []  # outputs renamed into place by this process (for an honest message on Ctrl-C)
_planned: dict[Path, OutputFolder] = {}  # folder outputs checked by check_output: atomic_directory writes their manifest
_approved: set[Path] = set()  # foreign files check_output let a command replace (--force, in place)


def _kind(mode: int) -> str | None:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return next((what for test, what in _KINDS if test(mode)), None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else "not a regular file")


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PycompressError(f"{path}: cannot create or use it as output ({exc.strerror})") from None


def check_output(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (), folder: OutputFolder | None = None,
                 force: bool | None = None, side: bool = False) -> Path:
    """The one check of every output, before any work: one clear line instead of a destroyed file or folder.

    A file output must be absent, or a regular file that pycompress wrote, or (with `force`) any
    regular file; never the input unless `force` (None: the command has no --force). A side file
    (`side`, e.g. a model card beside the weights) must be absent or pycompress's. A folder output
    (`folder` given) must be absent, empty, or this command's earlier output holding nothing else;
    never hold an input or the current folder. Symbolic links are refused in every case.
    """
    path = Path(path)
    st = _lstat(path)
    if st is not None and stat.S_ISLNK(st.st_mode):
        try:
            to = _kind(os.stat(path).st_mode) or ("a folder" if path.is_dir() else "a file")
        except OSError:
            to = "nothing"
        raise PycompressError(f"{path}: is a symbolic link (to {to}); refusing to write through it")
    if st is not None and (kind := _kind(st.st_mode)):
        raise PycompressError(f"{path}: is {kind}; refusing to write over it")
    if st is not None and folder is None and stat.S_ISDIR(st.st_mode):
        raise PycompressError(f"{path}: is a folder, expected a file name")
    if st is not None and folder is not None and not stat.S_ISDIR(st.st_mode):
        raise PycompressError(f"{path}: exists and is not a folder")
    target = path.resolve()
    anc = target.parent
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        raise PycompressError(f"{path}: cannot be created ({anc} is not a folder)")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise PycompressError(f"{path}: cannot be written ({anc} is not writable)")
    for inp in inputs:
        src = Path(inp)
        if not src.exists():
            continue
        src = src.resolve()
        if folder is not None and (src == target or target in src.parents):
            raise PycompressError(f"{path}: holds the input {inp}; choose another output folder")
        if folder is None and (src == target or st is not None and os.path.samefile(src, target)):
            if not force:
                hint = "pass --force to replace it in place" if force is False else "choose another output"
                raise PycompressError(f"{path}: is the input file; {hint}")
            _approved.add(target)
            return path
    if folder is None and st is not None and not written_by_pycompress(path):
        if side:
            raise PycompressError(f"{path}: exists and was not written by pycompress; refusing to replace it "
                                  "(move it away)")
        if not force:
            hint = "pass --force to replace it" if force is False else "move it away or choose another output"
            raise PycompressError(f"{path}: exists and was not written by pycompress; {hint}")
        _approved.add(target)
    if folder is not None:
        cwd = Path.cwd().resolve()
        if target == cwd or target in cwd.parents:
            raise PycompressError(f"{path}: is the current folder or holds it; choose another output folder")
        if st is not None and any(target.iterdir()):
            why = folder.refusal(target)
            if why is not None:
                raise PycompressError(f"{path}: not empty and not replaceable as a pycompress {folder.what}: {why}; "
                                      "refusing to replace it")
        _planned[target] = folder
    return path


def committed_outputs() -> list[Path]:
    """Outputs this process has renamed into place so far."""
    return list(_committed)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP across a rename and its bookkeeping: they arrive after, never half-way."""
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _no_link(path: Path, want_dir: bool) -> None:
    st = _lstat(path)
    if st is None:
        return
    if stat.S_ISLNK(st.st_mode):
        raise PycompressError(f"{path}: is a symbolic link; refusing to write through it")
    if want_dir and not stat.S_ISDIR(st.st_mode):
        raise PycompressError(f"{path}: exists and is not a directory")
    if not want_dir and not stat.S_ISREG(st.st_mode):
        raise PycompressError(f"{path}: exists and is not a regular file; refusing to write over it")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds.

    The temp file goes on any exception, KeyboardInterrupt and SystemExit (the CLI turns
    SIGTERM into one) included; a link, device, FIFO or folder at `path` is never replaced, nor a
    regular file pycompress did not write unless `check_output` approved it (--force, in place).
    """
    path = Path(path)
    _no_link(path, want_dir=False)
    if path.is_file() and path.resolve() not in _approved and not written_by_pycompress(path):
        raise PycompressError(f"{path}: exists and was not written by pycompress; refusing to replace it")
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        with _signals_held():
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the permissions open() would
        try:
            yield Path(tmp)
        except OSError as exc:  # no space, quota, file size limit: named after the output, not its temp file
            ours = os.fspath(exc.filename) == tmp if exc.filename is not None else exc.errno in _WRITE_ERRNOS
            if ours:
                raise PycompressError(f"{path}: cannot write it ({exc.strerror or exc})") from None
            raise
        with _signals_held():
            _no_link(path, want_dir=False)  # nothing swapped in meanwhile
            os.replace(tmp, path)
            _committed.append(path)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_directory(path: str | os.PathLike, owner: OutputFolder | None = None) -> Iterator[Path]:
    """Yield an empty folder beside `path`; on success it replaces `path` whole, on failure it vanishes.

    Every generated tree (HLS project, RTL images, reports, Vivado build folders) goes through
    here, so a crash never leaves a half-written output and an old output survives a failed run.
    Its manifest (the files written, for `OutputFolder.refusal`) is added last, named after
    `owner` or the folder output `check_output` approved at this path. Whether `path` may be
    replaced at all is `check_output`'s decision, made before any work.
    """
    path = Path(path)
    _no_link(path, want_dir=True)
    owner = _planned.get(path.resolve()) or owner  # what check_output approved here, else the caller's kind
    if path.is_dir() and any(path.iterdir()):  # again here, for callers that skipped check_output
        why = (owner or OutputFolder("")).refusal(path)
        if why is not None:
            raise PycompressError(f"{path}: not empty and not replaceable as a pycompress "
                                  f"{owner.what if owner else 'output'}: {why}; refusing to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        with _signals_held():
            tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; outputs are ordinary folders
        yield tmp
        write_manifest(tmp, owner.what if owner else "pycompress output")
        old = None
        with _signals_held():
            try:
                _no_link(path, want_dir=True)
                if path.exists():
                    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
                    os.replace(path, old / "previous")
                try:
                    os.replace(tmp, path)
                except BaseException:
                    if old is not None:
                        os.replace(old / "previous", path)
                    raise
                _committed.append(path)
            finally:
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def inside(root: str | os.PathLike, rel: str, make: bool = True) -> Path:
    """`root/rel` for writing into an output folder after the fact (a C-simulation build, a report
    summary): every folder on the way below `root` is a real folder, never a link (made if missing)."""
    root = Path(root)
    _no_link(root, want_dir=True)
    here = root
    parts = Path(rel).parts
    if not parts or Path(rel).is_absolute() or ".." in parts:
        raise PycompressError(f"{rel!r}: not a path inside {root}")
    for part in parts[:-1]:
        here = here / part
        _no_link(here, want_dir=True)
        if make and not here.exists():
            here.mkdir()
    return root.joinpath(*parts)


def write_inside(root: str | os.PathLike, rel: str, data: bytes) -> Path:
    """Write `data` to `root/rel` atomically, no link followed below `root` (see `inside`): a file the command
    keeps inside an output folder (a report summary), replaced on every run."""
    out = inside(root, rel)
    _approved.add(out.resolve())
    write_bytes_atomic(out, data)
    return out


def create_sqlite(path: str | os.PathLike) -> Path:
    """A new, empty SQLite database marked as pycompress's (a study database beside an output), made atomically."""
    from .ownership import create_sqlite as create

    path = Path(path)
    with atomic_path(path) as tmp:
        create(tmp)
    return path
