"""One output policy for every file a command writes, side files included (issue 23, items 3 and 5).

Each case the probe found: a file or folder the command did not create, reached by a link, a
side file beside the output, or a folder whose names merely match, stays byte for byte as it was,
and the refusal is one line with no traceback. The command's own earlier outputs are still
replaced (its manifest or mark says so), and `--force` replaces a foreign regular file.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from conftest import REPO
from pycompress.cli.main import main
from pycompress.core import container
from pycompress.core.fileio import MANIFEST, check_output, written_by_pycompress
from pycompress.core.errors import PycompressError
from pycompress.compress import CompressConfig, compress_state_dict


def _snapshot(root: Path) -> dict:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = ("link", os.readlink(p)) if p.is_symlink() else p.read_bytes() if p.is_file() else "dir"
    return out


@pytest.fixture()
def cli(capsys):
    def run(*args):
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=rc, stdout=out, stderr=err)
    return run


def _refused(r, *words):
    lines = r.stderr.strip().splitlines()
    assert r.returncode != 0, r
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def pcz(tmp_path_factory, lenet_state_dict) -> Path:
    path = tmp_path_factory.mktemp("m") / "lenet.pcz"
    container.save(compress_state_dict(lenet_state_dict, CompressConfig("bf16")), path)
    return path


def test_estimate_to_dev_stdout_is_refused_and_the_link_stays(pcz, tmp_path):
    """`estimate -o /dev/stdout > report.json`: the check followed the link, the rename replaced it."""
    with open(tmp_path / "report.json", "w") as out:
        r = subprocess.run([sys.executable, "-m", "pycompress", "estimate", str(pcz), "-o", "/dev/stdout"],
                           stdout=out, stderr=subprocess.PIPE, text=True)
    _refused(SimpleNamespace(returncode=r.returncode, stderr=r.stderr), "symbolic link")
    assert os.path.islink("/dev/stdout")


def test_estimate_through_a_link_to_a_user_file(pcz, tmp_path, cli):
    (tmp_path / "mine.json").write_text('{"mine": true}\n')
    (tmp_path / "out.json").symlink_to(tmp_path / "mine.json")
    before = _snapshot(tmp_path)
    _refused(cli("estimate", pcz, "-o", tmp_path / "out.json", "--force"), "symbolic link")
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("link", ["reports", "reports/summary.json"])
def test_vivado_report_never_writes_through_a_link(tmp_path, cli, link):
    build, user = tmp_path / "build", tmp_path / "user"
    build.mkdir()
    user.mkdir()
    (user / "summary.json").write_text("the user's own summary\n")
    (build / "flow.json").write_text(json.dumps({"build_name": "b", "top": "t", "part": "p", "kernel_cell": "k"}))
    if link == "reports":
        (build / "reports").symlink_to(user)
    else:
        (build / "reports").mkdir()
        (build / "reports" / "summary.json").symlink_to(user / "summary.json")
    before = _snapshot(tmp_path)
    _refused(cli("vivado-report", build), "symbolic link")
    assert _snapshot(tmp_path) == before


def test_vivado_report_writes_its_summary_atomically(tmp_path, cli):
    build = tmp_path / "build"
    build.mkdir()
    (build / "flow.json").write_text(json.dumps({"build_name": "b", "top": "t", "part": "p", "kernel_cell": "k"}))
    assert cli("vivado-report", build).returncode == 0
    assert json.loads((build / "reports" / "summary.json").read_text())["build"] == "b"
    assert sorted(p.name for p in (build / "reports").iterdir()) == ["summary.json"]


def test_train_never_overwrites_a_user_card(tmp_path, cli):
    """`train -o t/model.pt` wrote its card over the user's t/model.json: refused before training."""
    (tmp_path / "model.json").write_text('{"my": "notes"}\n')
    before = _snapshot(tmp_path)
    _refused(cli("train", "-o", tmp_path / "model.pt", "--epochs", "1", "--force"), "model.json", "not written by pycompress")
    assert _snapshot(tmp_path) == before


def test_a_card_written_by_train_is_ours(tmp_path):
    card = tmp_path / "model.json"
    card.write_text(json.dumps({"generator": "pycompress train", "weights_sha256": "0" * 64}))
    assert check_output(card, side=True) == card


@pytest.mark.parametrize("command", ["sensitivity", "explore"])
def test_report_folder_with_matching_names_is_not_ours(tmp_path, cli, lenet_path, command):
    """A folder whose files merely have the report's names (sensitivity.json, README.md, ...) is the user's."""
    folder = tmp_path / "report"
    folder.mkdir()
    for name in ("sensitivity.json", "sensitivity.png", "sensitivity.md", "README.md"):
        (folder / name).write_text(f"my own {name}\n")
    before = _snapshot(tmp_path)
    argv = (("sensitivity", lenet_path, "-o", folder) if command == "sensitivity" else
            ("explore", lenet_path, "-o", tmp_path / "out.pcz", "--report", folder, "--trials", "0"))
    _refused(cli(*argv), "not replaceable", MANIFEST)
    assert _snapshot(tmp_path) == before


def test_explore_never_adds_tables_to_a_user_database(tmp_path, cli, lenet_path):
    db = tmp_path / "out.optuna.db"
    con = sqlite3.connect(db)
    con.execute("create table mine (x)")
    con.commit()
    con.close()
    before = _snapshot(tmp_path)
    _refused(cli("explore", lenet_path, "-o", tmp_path / "out.pcz", "--trials", "0"), "out.optuna.db",
             "not written by pycompress")
    assert _snapshot(tmp_path) == before


def test_generate_refuses_an_earlier_output_the_user_added_to(pcz, tmp_path, cli):
    """`generate -o` on its earlier output silently deleted a file the user had added inside."""
    out = tmp_path / "hls"
    assert cli("generate", pcz, "-o", out).returncode == 0
    assert cli("generate", pcz, "-o", out).returncode == 0  # its own output: replaced whole
    (out / "firmware" / "my_tweak.h").write_text("// mine\n")
    before = _snapshot(tmp_path)
    _refused(cli("generate", pcz, "-o", out), "firmware/my_tweak.h", "pycompress did not write")
    assert _snapshot(tmp_path) == before
    (out / "firmware" / "my_tweak.h").unlink()
    (out / "project.json").write_text((out / "project.json").read_text() + " ")  # an edited file is the user's too
    _refused(cli("generate", pcz, "-o", out), "project.json was changed")


def test_generate_keeps_what_csim_and_the_tools_add(pcz, tmp_path, cli):
    out = tmp_path / "hls"
    assert cli("generate", pcz, "-o", out).returncode == 0
    (out / "csim_build").mkdir()
    (out / "csim_build" / "libx.so").write_bytes(b"\0")
    (out / "prj_top").mkdir()
    (out / "vitis_hls.log").write_text("log\n")
    assert cli("generate", pcz, "-o", out).returncode == 0
    assert not (out / "csim_build").exists() and not (out / "vitis_hls.log").exists()


def test_file_outputs_need_force_for_a_foreign_file(tmp_path, cli, pcz):
    torch.save({"fc.weight": torch.randn(8, 8)}, tmp_path / "m.pt")
    (tmp_path / "precious.pcz").write_bytes(b"not a container: the user's")
    (tmp_path / "precious.safetensors").write_bytes(b"the user's")
    before = _snapshot(tmp_path)
    _refused(cli("compress", tmp_path / "m.pt", "-o", tmp_path / "precious.pcz"), "--force")
    _refused(cli("decompress", pcz, "-o", tmp_path / "precious.safetensors"), "--force")
    assert _snapshot(tmp_path) == before
    assert cli("compress", tmp_path / "m.pt", "-o", tmp_path / "precious.pcz", "--force").returncode == 0
    for out in ("d.safetensors", "d.pt", "e.json"):  # our own outputs carry a mark: a rerun replaces them
        argv = ("estimate", pcz, "-o", tmp_path / out) if out.endswith(".json") else ("decompress", pcz, "-o", tmp_path / out)
        assert cli(*argv).returncode == 0 and cli(*argv).returncode == 0, out
        assert written_by_pycompress(tmp_path / out)
    assert torch.load(tmp_path / "d.pt", weights_only=True).keys() == container.load(pcz).state_dict().keys()


def test_check_output_refuses_a_folder_link(tmp_path):
    from pycompress.hw.hls.writer import HLS_FOLDER

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(PycompressError, match="symbolic link"):
        check_output(tmp_path / "link", folder=HLS_FOLDER)
