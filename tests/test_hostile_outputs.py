"""Outputs never destroy what pycompress did not create: every case through the real CLI in a subprocess.

Each refusal is exactly one line on stderr, a non-zero exit, no traceback, and the folder
listing (names and contents) is the same before and after.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import REPO, run_cli
from pycompress.core import container
from pycompress.compress import CompressConfig, compress_state_dict


def _snapshot(root: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = p.read_bytes() if p.is_file() and not p.is_symlink() else ("dir" if p.is_dir() else "other")
    return out


def _refused(r: subprocess.CompletedProcess, *words: str) -> None:
    lines = r.stderr.strip().splitlines()
    assert r.returncode != 0, r
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture()
def model(tmp_path) -> Path:
    """A small ordinary model in a folder of its own (tmp_path/mdl/m.pt) and its .pcz beside it."""
    torch.manual_seed(0)
    sd = {"fc.weight": torch.randn(16, 8), "fc.bias": torch.randn(16)}
    d = tmp_path / "mdl"
    d.mkdir()
    torch.save(sd, d / "m.pt")
    container.save(compress_state_dict(sd, CompressConfig(format="bf16")), d / "m.pcz")
    return d


def _precious(tmp_path: Path) -> Path:
    d = tmp_path / "precious"
    d.mkdir()
    (d / "thesis.tex").write_text("years of work\n")
    return d


CASES = {
    "rtl into a user folder": (("rtl", "{pcz}", "-o", "{precious}"), ("not empty", "refusing")),
    "rtl into its input's folder": (("rtl", "{pcz}", "-o", "{mdl}"), ("holds the input",)),
    "rtl into the current folder": (("rtl", "{pcz}", "-o", "."), ()),
    "rtl onto a file": (("rtl", "{pcz}", "-o", "{pt}"), ("not a folder",)),
    "generate into a user folder": (("generate", "{pcz}", "-o", "{precious}"), ("not empty",)),
    "compress to a FIFO": (("compress", "{pt}", "-o", "{fifo}"), ("FIFO",)),
    "compress to a folder": (("compress", "{pt}", "-o", "{precious_pcz}"), ("is a folder",)),
    "compress to a link to a character device": (("compress", "{pt}", "-o", "{dev_pcz}"), ("character device",)),
    "cluster in place without --force": (("cluster", "{pcz}", "--k", "4", "-o", "{pcz}"), ("--force",)),
    "decompress to a FIFO": (("decompress", "{pcz}", "-o", "{fifo_st}"), ("FIFO",)),
    "estimate to a character device": (("estimate", "{pcz}", "-o", "{dev}"), ("character device",)),
    "sensitivity into a user folder": (("sensitivity", "{pt}", "-o", "{precious}"), ("not empty",)),
    "study into a user folder": (("study", "--model", "{pt}", "-o", "{precious}", "--quick"), ("not empty",)),
    "bitstream build folder over a user folder": (("bitstream", "{pcz}", "-o", "{tmp}", "--name", "precious",
                                                   "--scripts-only"), ("not empty",)),
    "approximate in place without --force": (("approximate", "{pcz}", "-o", "{pcz}"), ("--force",)),
    "train to a FIFO": (("train", "-o", "{fifo_pt}", "--epochs", "1"), ("FIFO",)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_with_one_line_and_nothing_changed(case, tmp_path, model):
    precious = _precious(tmp_path)
    os.mkfifo(tmp_path / "fifo.pcz")
    os.mkfifo(tmp_path / "fifo.safetensors")
    os.mkfifo(tmp_path / "fifo.pt")
    (tmp_path / "folder.pcz").mkdir()
    (tmp_path / "folder.pcz" / "keep").write_text("x")
    (tmp_path / "dev.pcz").symlink_to("/dev/null")
    dev = "/dev/null"  # a character device (as root a rename would replace it)
    values = {"pcz": model / "m.pcz", "pt": model / "m.pt", "mdl": model, "precious": precious, "tmp": tmp_path,
              "fifo": tmp_path / "fifo.pcz", "fifo_st": tmp_path / "fifo.safetensors", "fifo_pt": tmp_path / "fifo.pt",
              "precious_pcz": tmp_path / "folder.pcz", "dev": dev,
              "dev_pcz": tmp_path / "dev.pcz"}
    argv, words = CASES[case]
    before = _snapshot(tmp_path)
    null_before = os.stat(dev)
    r = run_cli(*[a.format(**values) for a in argv], cwd=model)
    _refused(r, *words)
    assert _snapshot(tmp_path) == before
    null_after = os.stat(dev)
    assert (null_after.st_mode, null_after.st_ino) == (null_before.st_mode, null_before.st_ino)


def test_in_place_with_force_and_own_outputs_are_replaced(tmp_path, model):
    pcz = model / "m.pcz"
    r = run_cli("cluster", pcz, "--k", "4", "-o", pcz, "--force")
    assert r.returncode == 0, r.stderr
    assert container.load(pcz).tensors["fc.weight"].scheme == "cluster"
    out = tmp_path / "rtl"
    for _ in range(2):  # an earlier rtl output is replaced whole
        r = run_cli("rtl", pcz, "-o", out)
        assert r.returncode == 0, r.stderr
    (tmp_path / "empty").mkdir()
    assert run_cli("rtl", pcz, "-o", tmp_path / "empty").returncode == 0


def test_error_exit_writes_nothing(tmp_path):
    """A model with only 1-D tensors has nothing to compress: the refusal comes before the write."""
    torch.save({"b": torch.randn(5)}, tmp_path / "one_d.pt")
    (tmp_path / "old.pcz").write_bytes(b"an older file that must survive")
    before = _snapshot(tmp_path)
    r = run_cli("compress", tmp_path / "one_d.pt", "-o", tmp_path / "old.pcz")
    _refused(r)
    assert _snapshot(tmp_path) == before


def _slow_writer_script(out: Path, kind: str) -> str:
    """A pycompress process that is inside an atomic write when the test signals it."""
    return f"""
import sys, time
import pycompress.cli.main as cli
from pycompress.core.fileio import atomic_directory, atomic_path
cli._install_signal_handlers()
try:
    if {kind!r} == "file":
        with atomic_path({str(out)!r}) as tmp:
            tmp.write_bytes(b"x" * 1000)
            print("writing", flush=True)
            time.sleep(30)
    else:
        with atomic_directory({str(out)!r}) as tmp:
            (tmp / "a").write_text("x")
            print("writing", flush=True)
            time.sleep(30)
except KeyboardInterrupt as exc:
    line, code = cli._interrupted_line(exc)
    print(line, file=sys.stderr)
    sys.exit(code)
"""


@pytest.mark.parametrize("kind", ["file", "dir"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_write_leaves_no_temp_file(tmp_path, kind, sig):
    out = tmp_path / ("m.pcz" if kind == "file" else "rtl")
    p = subprocess.Popen([sys.executable, "-c", _slow_writer_script(out, kind)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert p.stdout.readline().strip() == "writing"
    assert any(x.name.endswith(".tmp") for x in tmp_path.iterdir())
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + sig, err
    assert err.strip().splitlines() == [err.strip()] and "no output written" in err
    assert list(tmp_path.iterdir()) == []


def test_sigterm_during_a_real_command_leaves_no_temp_file(tmp_path, model):
    """SIGTERM while `pycompress rtl` runs: no traceback, exit 143 (or killed before the handler), nothing left behind."""
    p = subprocess.Popen([sys.executable, "-m", "pycompress", "rtl", str(model / "m.pcz"), "-o", str(tmp_path / "r")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # inside imports or the write; either way nothing may remain
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert "Traceback" not in err
    if p.returncode != 0:
        assert p.returncode in (143, -signal.SIGTERM), err
        assert not (tmp_path / "r").exists()
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".")]
