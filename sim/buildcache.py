"""The Verilator build cache shared by the tests, their xdist workers and `make sim`.

Every harness builds through `verilator_runner()` instead of cocotb's `get_runner("verilator")`. Its build:
- holds a lock file beside the build folder (`<folder>.lock`), so two processes (two xdist workers) that need
  the same model build it once: the second waits, then finds it built;
- is skipped outright when the folder's stamp holds the build's key: the sha256 of the verilator command line
  (top, parameters, flags, source paths) and of the contents of the sources and of the include folders. A
  changed source or parameter changes the key and rebuilds (verilator, then make) under the lock;
- compiles the Verilator runtime objects once for all builds (sim/objcache.py, make's OBJCACHE).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cocotb_tools.runner import Verilator

SIM_DIR = Path(__file__).resolve().parent
OBJCACHE_DIR = SIM_DIR.parent / "sim_build" / "objcache"
STAMP = ".build-key"


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on `folder` (a `<folder>.lock` file beside it), released when the block ends or the
    process dies."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build_key(verilator_cmd: list[str], sources: list[Path], includes: list[Path]) -> str:
    h = hashlib.sha256("\0".join(map(str, verilator_cmd)).encode())
    for path in sources:
        h.update(b"\1" + Path(path).read_bytes())
    for folder in includes:
        for path in sorted(p for p in Path(folder).iterdir() if p.is_file()):
            h.update(b"\2" + path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


class CachedVerilator(Verilator):
    """cocotb's Verilator runner with a locked, content-keyed build (see the module docstring)."""

    _key: str | None = None

    def build(self, *args, build_dir: str | os.PathLike = "sim_build", **kwargs) -> None:
        with folder_lock(Path(build_dir).resolve()):
            super().build(*args, build_dir=build_dir, **kwargs)
            if self._key is not None:  # built (an error raises before here): stamp it
                (self.build_dir / STAMP).write_text(self._key)

    def _set_env_build(self) -> None:
        super()._set_env_build()
        self.env["OBJCACHE"] = f"{sys.executable} {SIM_DIR / 'objcache.py'} {OBJCACHE_DIR}"

    def _build_command(self) -> list[list[str]]:
        cmds = super()._build_command()
        sources = [Path(s.value) for s in self._sources + self._verilog_sources]
        key = build_key(cmds[0], sources, self.includes)
        stamp = self.build_dir / STAMP
        if (self.build_dir / self.hdl_toplevel).is_file() and stamp.is_file() and stamp.read_text() == key:
            self._key = None
            return []
        stamp.unlink(missing_ok=True)
        # cocotb's main includes this model's header: recompile it (objcache reuses one built for the same header;
        # folders built before that rule may hold a main compiled for another model)
        (self.build_dir / "verilator.o").unlink(missing_ok=True)
        self._key = key
        return cmds

    def _execute(self, cmds, cwd) -> None:
        if cmds:  # a cache hit runs nothing and keeps the last build's log
            super()._execute(cmds, cwd)


def verilator_runner() -> CachedVerilator:
    return CachedVerilator()


def copied_sources(sources: list[Path], build_dir: Path) -> list[Path]:
    """Copies of `sources`, numbered in order, in `build_dir`/src: for a build folder keyed by the sources'
    content whose originals are rewritten on every run (the runner rebuilds when a source is newer)."""
    src_dir = Path(build_dir) / "src"
    src_dir.mkdir(parents=True, exist_ok=True)
    copies = []
    for i, p in enumerate(sources):
        c = src_dir / f"{i:02d}_{Path(p).name}"
        if not c.exists():
            c.write_bytes(Path(p).read_bytes())
        copies.append(c)
    return copies
