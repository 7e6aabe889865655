"""Progress lines on stderr for long per-tensor steps, and memory release between steps (issue 14, item 5)."""
from __future__ import annotations

import os
import sys
import time

EVERY_S = 3.0  # seconds between lines; PYCOMPRESS_PROGRESS_S overrides it (0: a line per tensor)


def _every() -> float:
    try:
        return max(0.0, float(os.environ.get("PYCOMPRESS_PROGRESS_S", EVERY_S)))
    except ValueError:
        return EVERY_S


class Ticker:
    """`tick(i, name)` prints "pycompress: <what> i/total (name)" when `every` seconds have passed since the last line."""

    def __init__(self, what: str, total: int, every: float | None = None, enabled: bool = True) -> None:
        self.what, self.total, self.enabled = what, total, enabled
        self.every = _every() if every is None else every
        self.start = self.last = time.perf_counter()

    def tick(self, done: int, name: str = "") -> None:
        now = time.perf_counter()
        if self.enabled and now - self.last >= self.every:
            self.last = now
            where = f" ({name})" if name else ""
            print(f"pycompress: {self.what}: {done}/{self.total} tensors{where}, {now - self.start:.0f}s",
                  file=sys.stderr, flush=True)


def release_memory() -> None:
    """Collect reference cycles (fx modules, exported programs) and hand freed heap back to the OS (glibc),
    so that the next step of a large model starts from what is alive, not from the previous step's peak."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass
