"""How a command ends on a signal: SIGTERM/SIGHUP raised like Ctrl-C so every `with` block cleans up, a
second signal ignored while that cleanup runs (never a traceback), and one line saying what is on disk."""
from __future__ import annotations

import os
import signal
import sys
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM/SIGHUP, raised like Ctrl-C so every `with` block (temp files and folders) cleans up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _torch_initializing() -> bool:
    spec = getattr(sys.modules.get("torch"), "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def _deferred(signum: int) -> bool:
    """While torch is being imported, an exception raised by a handler can unwind through torch's C++ (pybind11)
    and abort the process (std::terminate, no cleanup). Then the signal is sent again a little later, until the
    import is done; the handler raises it there."""
    if not _torch_initializing():
        return False
    again = threading.Timer(0.05, os.kill, (os.getpid(), signum))
    again.daemon = True
    again.start()
    return True


def _raise_terminated(signum: int, frame) -> None:
    if _deferred(signum):
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):  # a second signal must not cut the cleanup short
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


def _raise_interrupted(signum: int, frame) -> None:
    if _deferred(signum):
        return
    _ignore_interrupts()  # the first Ctrl-C unwinds (temp files removed); a second must not cut that short
    raise KeyboardInterrupt


def _ignore_interrupts() -> None:
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)


def _install_signal_handlers() -> None:
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _raise_terminated)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not when the caller ignores it
            signal.signal(signal.SIGINT, _raise_interrupted)


def _interrupted_line(exc: KeyboardInterrupt) -> tuple[str, int]:
    """Say what is on disk: nothing new, or the outputs renamed into place before the signal.

    Never imports: the signal may have arrived inside an import (torch's, say), and importing again there
    fails. Outputs are committed only through core.fileio, so a command that never loaded it wrote none."""
    signum = exc.signum if isinstance(exc, Terminated) else 2
    how = "interrupted" if signum == 2 else f"terminated by signal {signum}"
    fileio = sys.modules.get("pycompress.core.fileio")
    done = fileio.committed_outputs() if fileio is not None and hasattr(fileio, "committed_outputs") else []
    if done:
        return f"pycompress: {how} after writing {', '.join(map(str, done))}", 128 + signum
    return f"pycompress: {how}; no output written", 128 + signum


_HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def saved_signal_handlers() -> dict:
    """The handlers in place before a command (main restores them: the CLI may run inside another program)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in _HANDLED}


def restore_signal_handlers(saved: dict) -> None:
    for sig, handler in saved.items():
        if handler is not None:
            signal.signal(sig, handler)
