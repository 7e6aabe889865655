"""Inputs that hang a parser, block on a FIFO, or decompress or declare far more than they weigh (issue 23).

Every case through the real CLI in a subprocess: one line on stderr, a non-zero exit, no traceback,
within the subprocess timeout (a hang or a bomb would run into it), and the command's peak RSS
(measured by a wrapper process) under 1 GB. benchmarks/bench_hostile.py prints the same figures.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import hostile_inputs as h
from conftest import REPO
from pycompress.cli.main import main
from pycompress.core import container, validate
from pycompress.core.errors import PycompressError

GB = 1 << 30


def _refused(r, *words):
    lines = r.stderr.strip().splitlines()
    assert r.returncode not in (0, None), r
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    if hasattr(r, "peak_bytes"):
        assert r.peak_bytes < GB, f"peak RSS {r.peak_bytes / 2**20:.0f} MiB"


@pytest.fixture()
def cli(capsys):
    """The CLI in this process, for cases that are neither bombs nor hangs of the whole process: a FIFO open
    is cut by an alarm after 20 s (a failure then, instead of a suite that never ends)."""
    def alarm(signum, frame):
        raise TimeoutError("blocked for 20 s")

    def run(*args):
        old = signal.signal(signal.SIGALRM, alarm)
        signal.alarm(20)
        try:
            rc = main([str(a) for a in args])
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=rc, stdout=out, stderr=err)
    return run


@pytest.fixture(scope="module")
def lenet_pcz(tmp_path_factory, lenet_state_dict) -> Path:
    from pycompress.compress import CompressConfig, compress_state_dict

    path = tmp_path_factory.mktemp("lenet") / "lenet.pcz"
    container.save(compress_state_dict(lenet_state_dict, CompressConfig("bf16")), path)
    return path


@pytest.fixture(scope="module")
def ddr_project(lenet_pcz, tmp_path_factory) -> Path:
    from pycompress.hw.hls.writer import generate

    out = tmp_path_factory.mktemp("ddr") / "hls"
    generate(container.load(lenet_pcz), out, weights="ddr", progress=False)
    return out


# ---- item 2: a header the former parser took minutes or gigabytes over ---------------------------------

def test_quadratic_header_is_linear(tmp_path):
    """300,000 escaped quotes (the former regex: ~17 min at 200,000): refused as invalid JSON in milliseconds."""
    pcz = h.pcz_header_hang(tmp_path / "hang.pcz")
    start = time.perf_counter()
    with pytest.raises(PycompressError, match="corrupt .pcz file"):
        container.load(pcz)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("command", [("decompress", "{pcz}", "-o", "{tmp}/x.safetensors"),
                                     ("generate", "{pcz}", "-o", "{tmp}/hls")])
def test_hanging_header_through_every_command(tmp_path, command):
    pcz = h.pcz_header_hang(tmp_path / "hang.pcz")
    r = h.run_measured(*[a.format(pcz=pcz, tmp=tmp_path) for a in command], timeout=120)
    _refused(r, "corrupt .pcz file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hang.pcz"]


def test_header_memory_is_bounded(tmp_path):
    """60 MiB of `[0,0,...]` (the former pass: 7.5 GB): the scan is constant memory, the value count is capped."""
    r = h.run_measured("stats", h.pcz_header_memory(tmp_path / "mem.pcz"), timeout=120)
    _refused(r, "corrupt .pcz file", "values, limit")


def _depth(v) -> int:
    inner = v.values() if isinstance(v, dict) else v if isinstance(v, list) else None
    return 0 if inner is None else 1 + max(map(_depth, inner), default=0)


def test_json_shape_matches_json_loads_on_tricky_strings():
    """Escaped quotes and backslash runs, brackets inside strings, at every slice boundary."""
    texts = [b'["\\\\", "[", {"a": "\\"]"}]', b'{"k\\\\\\"": [[[]]]}', b'"\\\\\\\\"', b'[1,[2,[3]],"]]]"]',
             b'[{"\\\\\\\\\\"[": ["\\\\"]}]']
    for chunk in (1, 2, 3, 5, 1 << 18):
        validate.SCAN_CHUNK = chunk
        try:
            assert [validate.json_shape(t)[0] for t in texts] == [_depth(json.loads(t)) for t in texts]
        finally:
            validate.SCAN_CHUNK = 1 << 18


# ---- item 3: bombs ------------------------------------------------------------------------------------

def test_npz_bomb_to_csim_data(ddr_project, tmp_path):
    """2 GiB of deflated zeros in a 2 MiB .npz (was: 11.5 GB reached before the shape was refused)."""
    r = h.run_measured("csim", ddr_project, "--data", h.npz_bomb(tmp_path / "bomb.npz"), timeout=120)
    _refused(r, "refused before decompressing")


def test_npz_header_declaring_more_than_it_holds(tmp_path, lenet_pcz):
    r = h.run_measured("evaluate", lenet_pcz, "--data", h.npz_declares_more(tmp_path / "d.npz"), timeout=120)
    _refused(r, "declares shape")


def test_npz_of_the_wrong_shape_is_refused_from_its_header(ddr_project, tmp_path, cli):
    r = cli("csim", ddr_project, "--data", h.npz_wrong_shape(tmp_path / "w.npz"))
    _refused(r, "(3, 32, 32)", "(1, 28, 28)")


def test_pt_with_a_deflated_gigabyte(tmp_path):
    """A 1 MiB .pt whose storage entry inflates to 1 GiB (was: 2.55 GB reached)."""
    r = h.run_measured("compress", h.pt_bomb(tmp_path / "bomb.pt"), "-o", tmp_path / "x.pcz", timeout=120)
    _refused(r, "refused before decompressing")
    assert not (tmp_path / "x.pcz").exists()


@pytest.mark.parametrize("build,words", [(h.onnx_declares_huge_input, ("activation limit",)),
                                         (h.onnx_huge_pads, ("activation limit", "Conv"))])
def test_onnx_declaring_huge_activations(tmp_path, build, words):
    """~200 bytes declaring 36M-value inputs or 4e10-value conv outputs (was: 3.3 GB allocated)."""
    r = h.run_measured("stats", build(tmp_path / "m.onnx"), timeout=120)
    _refused(r, *words)


# ---- item 4: FIFOs ------------------------------------------------------------------------------------

def test_csim_of_a_ddr_image_that_is_a_fifo(ddr_project, tmp_path):
    image = ddr_project / "ddr" / "weights.bin"
    saved = tmp_path / "weights.bin"
    os.replace(image, saved)
    os.mkfifo(image)
    try:
        r = h.run_measured("csim", ddr_project, "--images", "1", timeout=60)
    finally:
        image.unlink()
        os.replace(saved, image)
    _refused(r, "FIFO", "DDR weight image")


def test_generate_parallel_from_a_fifo(lenet_pcz, tmp_path):
    os.mkfifo(tmp_path / "p.json")
    r = h.run_measured("generate", lenet_pcz, "-o", tmp_path / "hls", "--parallel", tmp_path / "p.json", timeout=60)
    _refused(r, "FIFO")
    assert not (tmp_path / "hls").exists()


@pytest.mark.parametrize("suffix", [".pcz", ".pt", ".safetensors", ".onnx", ".pt2", ".npz"])
def test_every_model_input_that_is_a_fifo(tmp_path, suffix, cli):
    fifo = tmp_path / f"m{suffix}"
    os.mkfifo(fifo)
    argv = ("evaluate", REPO / "pycompress/models/lenet5_mnist.safetensors", "--data", fifo) if suffix == ".npz" \
        else ("stats", fifo)
    _refused(cli(*argv))


@pytest.mark.parametrize("edit,words", [(("ddr", "words", "abc"), ("ddr.words must be an integer",)),
                                        (("ddr", "image", "../../etc/passwd"), ("not a path inside",)),
                                        (("files", None, []), ("unreadable manifest", "files")),
                                        (("top", None, "../x"), ("unreadable manifest", "identifier"))])
def test_hand_edited_project_json_is_one_line(ddr_project, tmp_path, cli, edit, words):
    """A project.json with ddr.words "abc" (was: an internal error), an image outside the project, missing files."""
    import shutil

    project = tmp_path / "p"
    shutil.copytree(ddr_project, project, ignore=shutil.ignore_patterns("csim_build"))
    m = json.loads((project / "project.json").read_text())
    key, sub, value = edit
    if sub is None:
        m[key] = value
    else:
        m[key][sub] = value
    (project / "project.json").write_text(json.dumps(m))
    _refused(cli("csim", project, "--images", "1"), *words)
