"""Crafted containers with recomputed checksums: the validation boundary, not the checksum, must refuse them.

Each case goes through the real CLI (one line on stderr, exit 2, no traceback, nothing written) and
the API (`PycompressError`); a fuzz run checks that whatever passes validation decodes without raising;
memory-bounded runs check the size-bounded reader and the graph limits under `ulimit -v`.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import resource
import struct
import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch

from conftest import REPO, run_cli
from pycompress.core import container
from pycompress.sharing.cluster import cluster_state_dict
from pycompress.compress import CompressConfig, compress_state_dict
from pycompress.core.errors import PycompressError
from pycompress.core.graph import MAX_ACTIVATION, Graph
from pycompress.hw.hls.vectors import MAX_RANDOM_BYTES, dataset_inputs, random_count

SMALL_GRAPH = {"version": 1, "input_shape": [1, 5, 5], "dataset": None, "layers": [
    {"op": "conv2d", "name": "conv", "weight": "conv.weight", "bias": "conv.bias", "in_channels": 1, "out_channels": 4,
     "kernel": [3, 3], "stride": 1, "padding": [0, 0]},
    {"op": "relu", "name": "relu"},
    {"op": "maxpool2d", "name": "pool", "kernel": 1, "stride": 1},
    {"op": "flatten", "name": "flat"},
    {"op": "linear", "name": "fc", "weight": "fc.weight", "bias": None, "in_features": 36, "out_features": 5}]}


def small_state_dict() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "conv.weight": torch.randn(4, 1, 3, 3, generator=g) * 0.1,
        "conv.bias": torch.randn(4, generator=g),
        "fc.weight": torch.randn(5, 36, generator=g) * 0.05,
        "steps": torch.tensor(7, dtype=torch.int64),
        "mask": torch.tensor([True, False, True]),
    }


@pytest.fixture(scope="module")
def expshare_blob() -> bytes:
    return container.to_bytes(compress_state_dict(small_state_dict(), CompressConfig("bf16"), graph=SMALL_GRAPH))


@pytest.fixture(scope="module")
def cluster_blob() -> bytes:
    return container.to_bytes(cluster_state_dict(small_state_dict(), 3))


# ---------------------------------------------------------------- forging with recomputed checksums

def unpack(blob: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """(pycompress metadata, entries) of a container."""
    from safetensors.numpy import load

    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen])
    return json.loads(header["__metadata__"]["pycompress"]), dict(load(blob))


def forge(blob: bytes, edit: Callable[[dict, dict], None] | None = None, text: str | None = None) -> bytes:
    """Edit metadata and/or entries, then recompute every SHA-256 the container uses, as an attacker would."""
    info, entries = unpack(blob)
    info, entries = copy.deepcopy(info), {k: np.array(v) for k, v in entries.items()}
    if edit is not None:
        edit(info, entries)
    for section in ("tensors", "raw"):
        for name, meta in (info.get(section) or {}).items() if isinstance(info.get(section), dict) else ():
            if isinstance(meta, dict):
                arrays = {k.rpartition("::")[2]: a for k, a in entries.items() if k.rpartition("::")[0] == name}
                meta["sha256"] = container._digest(arrays)
    if text is None:
        text = json.dumps(info, sort_keys=True, separators=(",", ":"))
    metadata = {"pycompress": text, "pycompress_sha256": hashlib.sha256(text.encode()).hexdigest()}
    return container._safetensors_bytes(entries, metadata)


def tensor(name: str, key: str, value) -> Callable[[dict, dict], None]:
    def edit(info, entries):
        section = "tensors" if name in info["tensors"] else "raw"
        if value is DELETE:
            del info[section][name][key]
        else:
            info[section][name][key] = value
    return edit


def top(key: str, value) -> Callable[[dict, dict], None]:
    def edit(info, entries):
        if value is DELETE:
            del info[key]
        else:
            info[key] = value
    return edit


def graph_layer(i: int, key: str, value) -> Callable[[dict, dict], None]:
    def edit(info, entries):
        info["graph"]["layers"][i][key] = value
    return edit


def entry(key: str, fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict, dict], None]:
    def edit(info, entries):
        entries[key] = fn(entries[key].copy())
    return edit


def both(*edits):
    def edit(info, entries):
        for e in edits:
            e(info, entries)
    return edit


DELETE = object()


def set_last(value):
    def fn(a):
        a[-1] = value
        return a
    return fn


def index_beyond_table(info, entries):
    """All-ones indices in a tensor whose exponent table is smaller than 2**index_bits."""
    for name, meta in info["tensors"].items():
        table = entries[f"{name}::exponent_table"]
        if table.size < 1 << meta["index_bits"]:
            n = int(np.prod(meta["shape"]))
            idx = np.full(n, (1 << meta["index_bits"]) - 1, np.uint8)
            from pycompress.core import bitpack

            entries[f"{name}::index"] = bitpack.pack(idx, meta["index_bits"])
            return
    raise AssertionError("no tensor with a partly used index space")


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


EXPSHARE_CASES = {
    # top-level metadata
    "info_not_dict": (top("info", [1, 2]), "info is list"),
    "format_missing": (top("format", DELETE), "missing format"),
    "format_unknown": (top("format", "fp8"), "format 'fp8'"),
    "format_version_string": (top("format_version", "1"), "no format version"),
    "order_duplicate": (lambda i, e: i["order"].append(i["order"][0]), "once each"),
    "order_numeric_name": (lambda i, e: i["order"].__setitem__(0, 5), "tensor name is int"),
    "unknown_scheme": (tensor("fc.weight", "scheme", "zip"), "unknown storage scheme 'zip'"),
    "extra_field": (tensor("fc.weight", "extra", 1), "unexpected 'extra'"),
    "stray_entry": (lambda i, e: e.__setitem__("ghost::data", np.zeros(4, np.uint8)), "unlisted tensor 'ghost'"),
    # shapes
    "shape_string": (tensor("fc.weight", "shape", "5,36"), "shape is str"),
    "shape_zero": (tensor("fc.weight", "shape", [0, 36]), r"shape\[0\] = 0 outside"),
    "shape_negative": (tensor("fc.weight", "shape", [-5, -36]), "outside"),
    "shape_float": (tensor("fc.weight", "shape", [5.0, 36]), "float 5.0"),
    "shape_huge": (tensor("fc.weight", "shape", [1 << 30, 1 << 30]), "more than"),
    "shape_wraps": (tensor("fc.weight", "shape", [1 << 63, 2]), "outside"),
    # widths
    "index_bits_0": (tensor("fc.weight", "index_bits", 0), "index_bits = 0 outside 1..8"),
    "index_bits_negative": (tensor("fc.weight", "index_bits", -3), "index_bits = -3 outside"),
    "index_bits_65": (tensor("fc.weight", "index_bits", 65), "index_bits = 65 outside"),
    "index_bits_bool": (tensor("fc.weight", "index_bits", True), "index_bits is bool"),
    "mantissa_bits_30": (tensor("fc.weight", "mantissa_bits", 30), "mantissa_bits = 30 outside 0..7"),
    "mantissa_bits_negative": (tensor("fc.weight", "mantissa_bits", -1), "mantissa_bits = -1 outside"),
    "mantissa_bits_0_with_bytes": (tensor("fc.weight", "mantissa_bits", 0), r"field mantissa holds \d+ bytes, 0 expected"),
    # stored fields
    "exponent_300_bf16": (entry("fc.weight::exponent_table", set_last(300)), "300 beyond the bf16 exponent field"),
    "exponent_table_unsorted": (entry("fc.weight::exponent_table", lambda a: a[::-1].copy()), "not strictly ascending"),
    "exponent_table_empty": (entry("fc.weight::exponent_table", lambda a: a[:0].copy()), "exponent table of 0"),
    "index_beyond_table": (index_beyond_table, "beyond the exponent table"),
    "sign_short": (entry("fc.weight::sign", lambda a: a[:-1].copy()), "field sign holds"),
    "index_long": (entry("fc.weight::index", lambda a: np.concatenate([a, a[:1]])), "field index holds"),
    "padding_bits": (entry("conv.weight::sign", set_last(0xFF)), "padding bits"),
    "missing_field": (lambda i, e: e.pop("fc.weight::mantissa"), "stored fields"),
    # raw tensors
    "raw_complex": (tensor("steps", "dtype", "complex64"), "dtype 'complex64' is not one compress writes"),
    "raw_uint64": (tensor("steps", "dtype", "uint64"), "dtype 'uint64'"),
    "raw_object": (tensor("steps", "dtype", "object"), "dtype 'object'"),
    "raw_bool_255": (entry("mask::data", set_last(255)), "bool data holds values other than 0 and 1"),
    "raw_length": (tensor("steps", "shape", [2]), "field data holds 8 bytes, 16 expected"),
    # graph
    "graph_not_dict": (top("graph", "conv"), "graph is str"),
    "graph_stride_string": (graph_layer(0, "stride", "1"), "stride is str"),
    "graph_stride_zero": (graph_layer(0, "stride", 0), "stride = 0 outside"),
    "graph_stride_float": (graph_layer(0, "stride", 2.0), "stride is float"),
    "graph_numeric_name": (graph_layer(0, "name", 7), "name is int"),
    "graph_unknown_op": (graph_layer(1, "op", "lstm"), "unknown layer op 'lstm'"),
    "graph_missing_key": (lambda i, e: i["graph"]["layers"][0].pop("padding"), "missing padding"),
    "graph_8000x8000": (lambda i, e: i["graph"].__setitem__("input_shape", [1, 8000, 8000]), "8000"),
    "graph_vs_weights": (both(graph_layer(0, "out_channels", 5), graph_layer(4, "in_features", 45)),
                         "has shape \\(4, 1, 3, 3\\), the layer needs \\(5, 1, 3, 3\\)"),
    "graph_missing_weight": (graph_layer(4, "weight", "nothere"), "'nothere' is not in the model"),
    "graph_inconsistent": (graph_layer(4, "in_features", 40), "Linear expects"),
}

JSON_CASES = {
    "deep_nesting": ('{"info":' + deep_json(100_000) + "}", "nests 100001 deep"),
    "huge_integer": ('{"format_version":1,"info":{"x":' + "9" * 4300 + "}}", "4300 digits"),
    "not_json": ("{not json", "not valid JSON"),
    "not_object": ("[1, 2]", "no format version"),
}


def cluster_edit_k(info, entries):
    name = next(iter(info["tensors"]))
    info["tensors"][name]["k"] = 300


def _first_cluster(fn):
    def edit(info, entries):
        fn(info, entries, next(n for n, m in info["tensors"].items() if m["scheme"] == "cluster"))
    return edit


CLUSTER_CASES = {
    "k_300": (_first_cluster(lambda i, e, n: i["tensors"][n].__setitem__("k", 300)), "k = 300 outside 1..256"),
    "index_bits_mismatch": (_first_cluster(lambda i, e, n: i["tensors"][n].__setitem__("index_bits", 5)),
                            "index_bits 5 for a codebook of 3, expected 2"),
    "codebook_short": (_first_cluster(lambda i, e, n: e.__setitem__(f"{n}::codebook", e[f"{n}::codebook"][:-4].copy())),
                       "field codebook holds 8 bytes, 12 expected"),
    "index_beyond_codebook": (_first_cluster(lambda i, e, n: e.__setitem__(f"{n}::index", np.full_like(e[f"{n}::index"], 0xFF))),
                              "beyond the codebook of 3"),
    "codebook_fp16": (_first_cluster(lambda i, e, n: i["tensors"][n].__setitem__("format", "fp16")), "not one of fp32, bf16"),
}


# Cases also run through a real subprocess (one or more of every class); the rest run the same CLI entry
# point in-process (`cli.main`, which turns any unexpected exception into exit 1, so a crash cannot pass).
SUBPROCESS_CASES = {"info_not_dict", "format_missing", "shape_string", "shape_zero", "index_bits_65", "mantissa_bits_30",
                    "mantissa_bits_0_with_bytes", "exponent_300_bf16", "index_beyond_table", "raw_complex", "raw_bool_255",
                    "graph_stride_string", "graph_numeric_name", "graph_vs_weights", "graph_8000x8000",
                    "deep_nesting", "huge_integer", "not_json", "index_beyond_codebook", "k_300"}


def _check_refused(path: Path, tmp_path: Path, pattern: str, real_process: bool = True) -> None:
    import contextlib
    import io
    import re

    from pycompress.cli.main import main

    out = tmp_path / "out.safetensors"
    args = ["decompress", str(path), "-o", str(out)]
    if real_process:
        r = run_cli(*args)
        code, stderr = r.returncode, r.stderr
    else:
        buf = io.StringIO()
        with contextlib.redirect_stderr(buf), contextlib.redirect_stdout(io.StringIO()):
            code = main(args)
        stderr = buf.getvalue()
    lines = stderr.strip().splitlines()
    assert code == 2, stderr
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith(f"pycompress: error: {path}: "), lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    assert not out.exists() and not list(tmp_path.glob(".out*"))


@pytest.mark.parametrize("case", sorted(EXPSHARE_CASES))
def test_crafted_expshare_container_refused(case, expshare_blob, tmp_path):
    edit, pattern = EXPSHARE_CASES[case]
    blob = forge(expshare_blob, edit)
    with pytest.raises(PycompressError, match=pattern):
        container.from_bytes(blob)
    path = tmp_path / f"{case}.pcz"
    path.write_bytes(blob)
    _check_refused(path, tmp_path, pattern, case in SUBPROCESS_CASES)


@pytest.mark.parametrize("case", sorted(JSON_CASES))
def test_hostile_metadata_json_refused(case, expshare_blob, tmp_path):
    text, pattern = JSON_CASES[case]
    blob = forge(expshare_blob, text=text)
    with pytest.raises(PycompressError, match=pattern):
        container.from_bytes(blob)
    path = tmp_path / f"{case}.pcz"
    path.write_bytes(blob)
    _check_refused(path, tmp_path, pattern, case in SUBPROCESS_CASES)


@pytest.mark.parametrize("case", sorted(CLUSTER_CASES))
def test_crafted_cluster_container_refused(case, cluster_blob, tmp_path):
    edit, pattern = CLUSTER_CASES[case]
    blob = forge(cluster_blob, edit)
    with pytest.raises(PycompressError, match=pattern):
        container.from_bytes(blob)
    path = tmp_path / f"{case}.pcz"
    path.write_bytes(blob)
    _check_refused(path, tmp_path, pattern, case in SUBPROCESS_CASES)


def _outer(blob: bytes, edit: Callable[[dict], None]) -> bytes:
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen])
    edit(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + blob[8 + hlen:]


def test_outer_header_attacks(expshare_blob, tmp_path):
    (hlen,) = struct.unpack("<Q", expshare_blob[:8])
    key = "fc.weight::sign"
    cases = {
        "trailing": (expshare_blob + b"\0" * 16, "16 bytes after the declared data"),
        "huge_header_len": (struct.pack("<Q", 1 << 62) + expshare_blob[8:], "truncated"),
        "overlap": (_outer(expshare_blob, lambda h: h[key].__setitem__("data_offsets", [0, h[key]["data_offsets"][1] - h[key]["data_offsets"][0]])),
                    "does not follow"),
        "bad_dtype": (_outer(expshare_blob, lambda h: h[key].__setitem__("dtype", "F64")), "dtype 'F64'"),
        "deep_header": (struct.pack("<Q", 200_008) + deep_json(100_004).encode() + b" " * 0, "nests"),
    }
    for case, (blob, pattern) in cases.items():
        with pytest.raises(PycompressError, match=pattern):
            container.from_bytes(blob)
    path = tmp_path / "trailing.pcz"
    path.write_bytes(cases["trailing"][0])
    _check_refused(path, tmp_path, "after the declared data")


def test_untouched_forgery_still_loads(expshare_blob, cluster_blob):
    """The helper itself changes nothing: a forged container without edits decodes."""
    for blob in (expshare_blob, cluster_blob):
        container.from_bytes(forge(blob)).state_dict()


def _mutations(info: dict, rng: np.random.Generator):
    """Every (container, key) in the metadata, to be replaced by a hostile value."""
    spots = []

    def walk(node):
        if isinstance(node, dict):
            for k in node:
                spots.append((node, k))
                walk(node[k])
        elif isinstance(node, list):
            for k in range(len(node)):
                spots.append((node, k))
                walk(node[k])
    walk(info)
    return spots


HOSTILE_VALUES = [0, -1, 1, 2, 7, 8, 9, 16, 65, 300, 1 << 40, -(1 << 63), 2.0, 0.5, "1", "", "fp16", "cluster", None, True,
                  [], [0], [1], [2, 2], {}, {"a": 1}]


def test_whatever_passes_validation_decodes(expshare_blob, cluster_blob):
    """Fuzz: one metadata value replaced at a time; the container is refused with PycompressError or decodes cleanly."""
    rng = np.random.default_rng(0)
    decoded = refused = 0
    for base in (expshare_blob, cluster_blob):
        info, _ = unpack(base)
        n = len(_mutations(info, rng))
        for trial in range(250):
            spot, value = int(rng.integers(n)), HOSTILE_VALUES[int(rng.integers(len(HOSTILE_VALUES)))]

            def edit(i, e, spot=spot, value=value):
                node, key = _mutations(i, rng)[spot]
                node[key] = copy.deepcopy(value)
            try:
                blob = forge(base, edit)
            except (KeyError, TypeError, AttributeError, IndexError):
                continue  # the helper could not recompute checksums for this shape of damage
            try:
                cm = container.from_bytes(blob)
            except PycompressError:
                refused += 1
                continue
            cm.state_dict()  # must not raise
            decoded += 1
    assert refused > 100 and decoded > 0


# ---------------------------------------------------------------- non-regular inputs, bounded memory

def _limited(cmd: list[str], gib: float, cwd: Path) -> subprocess.CompletedProcess:
    limit = int(gib * (1 << 30))

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run([sys.executable, "-m", "pycompress", *map(str, cmd)], capture_output=True, text=True,
                          cwd=cwd, preexec_fn=cap, timeout=120)


MEMORY_CAP_GIB = 2.5  # address space of the whole CLI process, torch included (a bare run needs about 1.3 GiB)


def test_dev_zero_and_fifo_refused_under_memory_cap(tmp_path):
    zero_pcz, zero_model, fifo = tmp_path / "zero.pcz", tmp_path / "zero.safetensors", tmp_path / "fifo.pcz"
    zero_pcz.symlink_to("/dev/zero")
    zero_model.symlink_to("/dev/zero")
    os.mkfifo(fifo)
    runs = [["decompress", p, "-o", tmp_path / "o.safetensors"] for p in ("/dev/zero", zero_pcz, fifo)]
    runs.append(["compress", zero_model, "-o", tmp_path / "o.pcz"])
    for args in runs:
        r = _limited(args, MEMORY_CAP_GIB, tmp_path)
        assert r.returncode == 2 and "not a regular file" in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.safetensors").exists() and not (tmp_path / "o.pcz").exists()


def _big_graph_blob(input_shape: list[int]) -> bytes:
    """A small model whose graph claims a huge input (what made `generate` allocate 7.5 GB)."""
    torch.manual_seed(0)
    sd = {"fc.weight": torch.randn(2, 3)}
    graph = {"version": 1, "input_shape": input_shape, "dataset": None, "layers": [
        {"op": "flatten", "name": "flat"},
        {"op": "linear", "name": "fc", "weight": "fc.weight", "bias": None, "in_features": 3, "out_features": 2}]}
    cm = compress_state_dict(sd, CompressConfig("fp32"), graph={**graph, "input_shape": [3]})
    return forge(container.to_bytes(cm), lambda i, e: i.__setitem__("graph", graph))


@pytest.mark.parametrize("command", ["generate", "rtl", "estimate", "bitstream"])
def test_8000x8000_graph_refused_under_memory_cap(command, tmp_path):
    path = tmp_path / "big.pcz"
    path.write_bytes(_big_graph_blob([1, 8000, 8000]))
    args = {"generate": ["-o", tmp_path / "out"], "rtl": ["-o", tmp_path / "out"], "estimate": [],
            "bitstream": ["-o", tmp_path / "out", "--scripts-only"]}[command]
    args = [command, path, *args]
    r = _limited(args, MEMORY_CAP_GIB, tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"more than the {MAX_ACTIVATION}" in r.stderr
    assert not (tmp_path / "out").exists()


def test_activation_limit_and_random_vectors_bounded():
    with pytest.raises(PycompressError, match="more than"):
        Graph.from_dict({"input_shape": [1, 8000, 8000], "layers": []})
    with pytest.raises(PycompressError, match="more than"):  # an activation after the input grows too
        Graph.from_dict({"input_shape": [1, 512, 512], "layers": [
            {"op": "conv2d", "name": "c", "weight": "w", "bias": None, "in_channels": 1, "out_channels": 64,
             "kernel": [1, 1], "stride": 1, "padding": [0, 0]}]})
    g = Graph.from_dict({"input_shape": [1, 1024, 1024], "layers": []})  # 4 MiB per input
    assert random_count(g) == MAX_RANDOM_BYTES // (4 << 20) == 4
    x, y = dataset_inputs(g)
    assert x.nbytes <= MAX_RANDOM_BYTES and y is None
    assert random_count(Graph.from_dict({"input_shape": [4], "layers": []}), 1000) == 1000


def test_zero_dim_tensor_with_all_round_trips(tmp_path):
    from safetensors.torch import save_file

    src = tmp_path / "m.safetensors"
    save_file({"s": torch.tensor(1.5), "w": torch.randn(3, 3)}, str(src))
    r = run_cli("compress", src, "-o", tmp_path / "m.pcz", "--all")
    assert r.returncode == 0, r.stderr
    cm = container.load(tmp_path / "m.pcz")
    assert "s" in cm.tensors and cm.state_dict()["s"].shape == ()
    r = run_cli("decompress", tmp_path / "m.pcz", "-o", tmp_path / "back.safetensors")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("args, pattern", [
    (["train", "--epochs", "-1"], "--epochs: expected an integer >= 1, not -1"),
    (["train", "--epochs", "x"], "expected an integer, not 'x'"),
    (["train", "--seed", "-4"], "--seed: expected an integer in 0.."),
])
def test_bad_numeric_options_one_line(args, pattern, tmp_path):
    r = run_cli(*args, "-o", tmp_path / "m.pt")
    assert r.returncode == 2 and pattern in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "m.pt").exists()


def test_os_errors_one_line(tmp_path, expshare_blob):
    model = tmp_path / "m.pcz"
    model.write_bytes(expshare_blob)
    unreadable = tmp_path / "locked.pcz"
    unreadable.write_bytes(expshare_blob)
    unreadable.chmod(0)
    cases = [(["decompress", model, "-o", tmp_path / "missing" / "deeper" / ("x" * 300 + ".safetensors")], "too long")]
    if os.geteuid() != 0:  # root reads anything
        cases.append((["decompress", unreadable, "-o", tmp_path / "o.safetensors"], "ermission denied"))
    for args, pattern in cases:
        r = run_cli(*args)
        assert r.returncode == 2 and pattern in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_interrupt_during_imports_is_one_line(tmp_path):
    """SIGINT or SIGTERM while a command imports torch: one line, non-zero exit, no traceback (the handler
    itself must not import: torch's import was cut in the middle)."""
    import signal
    import time

    env = dict(os.environ, PYTHONPATH=str(REPO))
    (tmp_path / "m.pcz").write_bytes(b"not a container")  # `rtl` imports torch before it reads the file
    for sig, line in ((signal.SIGINT, "pycompress: interrupted"),
                      (signal.SIGTERM, "pycompress: terminated by signal 15; no output written")):
        p = subprocess.Popen([sys.executable, "-m", "pycompress", "rtl", "m.pcz", "-o", "out"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
        time.sleep(0.5)  # --help needs no torch (~0.2 s); torch alone takes over a second to import here
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
        assert p.returncode == 128 + sig and "Traceback" not in err, err
        assert err.strip().splitlines()[-1].startswith(line.split(";")[0]), err
        assert not (tmp_path / "out").exists()
