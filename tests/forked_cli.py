"""`python -m pycompress ARGS` for the tests (conftest.run_cli), forked from a server that has imported torch.

A new interpreter spends ~1.5 s of CPU importing torch before the command starts; the suite runs a few hundred
commands. Here each command is a real child process (its own pid, exit status, cwd, environment, stdin from
/dev/null, stdout and stderr captured) forked from a multiprocessing forkserver that imported the package once
and has run nothing: the child runs `pycompress/__main__.py` as `python -m` does, then the atexit handlers,
and exits with the status the interpreter would give (SystemExit code, 1 and a traceback on an exception).

PYCOMPRESS_TEST_CLI=fresh runs every command in a new interpreter instead (subprocess.run).
"""
from __future__ import annotations

import atexit
import json
import locale
import multiprocessing
import os
import resource
import runpy
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD_CPU = [0.0]  # CPU seconds of the forked commands (incl. their children): conftest's --save-durations
PRELOAD = ["pycompress.cli.main", "pycompress.cli.commands.hls", "pycompress.cli.commands.lossy",
           "pycompress.cli.commands.rtl", "pycompress.cli.commands.sharing", "pycompress.cli.commands.vivado",
           "pycompress.cli.commands.distributed", "pycompress.compress", "pycompress.frontends"]
_context = None
_SYS_PATHS: dict[str | None, list[str]] = {}  # PYTHONPATH -> a new interpreter's sys.path after its first entry


def _server():
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _context = ctx
    return _context


def _exit_status(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _fresh_sys_path(env: dict[str, str]) -> list[str]:
    """sys.path[1:] of a new interpreter with this environment (the server's is the test process's, which the
    tests extend with sim/ and tests/)."""
    key = env.get("PYTHONPATH")
    if key not in _SYS_PATHS:
        r = subprocess.run([sys.executable, "-c", "import sys, json; print(json.dumps(sys.path[1:]))"], env=env,
                           capture_output=True, text=True, check=True)
        _SYS_PATHS[key] = json.loads(r.stdout)
    return _SYS_PATHS[key]


def _cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _child(args: list[str], cwd: str, env: dict[str, str], path: list[str], out: str, err: str, cpu: str) -> None:
    os.chdir(cwd)
    sys.path[:] = [cwd, *path]  # as `python -m` has it: the working folder first
    os.environ.clear()
    os.environ.update(env)
    for path, fd, flags in ((os.devnull, 0, os.O_RDONLY), (out, 1, os.O_WRONLY), (err, 2, os.O_WRONLY)):
        f = os.open(path, flags)
        os.dup2(f, fd)
        os.close(f)
    enc = locale.getpreferredencoding(False)
    sys.stdin = sys.__stdin__ = open(0, closefd=False, encoding=enc)
    sys.stdout = sys.__stdout__ = open(1, "w", closefd=False, encoding=enc)
    sys.stderr = sys.__stderr__ = open(2, "w", closefd=False, encoding=enc, errors="backslashreplace", buffering=1)
    sys.argv = ["-m", *args]
    status = 0
    try:
        runpy.run_module("pycompress", run_name="__main__", alter_sys=True)
    except SystemExit as e:
        status = _exit_status(e.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        Path(cpu).write_text(repr(_cpu_seconds()))
    finally:
        os._exit(status)


def run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pycompress", *args]
    if os.environ.get("PYCOMPRESS_TEST_CLI") == "fresh":
        return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    with tempfile.TemporaryDirectory(prefix="pycompress-cli-") as tmp:
        out, err, cpu = Path(tmp, "stdout"), Path(tmp, "stderr"), Path(tmp, "cpu")
        out.touch()
        err.touch()
        env = dict(os.environ)
        p = _server().Process(target=_child, args=(args, os.path.abspath(cwd or os.getcwd()), env, _fresh_sys_path(env),
                                                   str(out), str(err), str(cpu)))
        p.start()
        p.join()
        CHILD_CPU[0] += float(cpu.read_text()) if cpu.is_file() else 0.0
        enc = locale.getpreferredencoding(False)  # text mode, universal newlines: as subprocess.run(text=True)
        stdout, stderr = (f.read_text(encoding=enc) for f in (out, err))
    return subprocess.CompletedProcess(cmd, p.exitcode, stdout, stderr)
