"""Crafted inputs that decompress or declare far more than they weigh, or hang a naive parser (issue 23).

Shared by tests/test_hostile_inputs.py (each refused in one line) and benchmarks/bench_hostile.py
(peak RSS and wall time of each refusal). Each is built in milliseconds from a few repeated bytes;
none is ever decompressed here.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np

CHUNK = 1 << 20  # bytes of zeros behind one repeated deflate block


def _zeros_deflate(total: int) -> bytes:
    """A raw deflate stream that inflates to `total` zero bytes (a multiple of CHUNK): one fully flushed
    block of CHUNK zeros repeated (each starts afresh), then an empty final block. About 1 KiB per MiB."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(b"\0" * CHUNK) + c.flush(zlib.Z_FULL_FLUSH)
    return block * (total // CHUNK) + b"\x03\x00"


def write_zip(path: Path, members: list[tuple[str, int, bytes, int]]) -> Path:
    """A zip archive of (name, method 0 stored / 8 deflated, stored bytes, declared uncompressed size); CRCs
    are those of the stored bytes only (a bomb is refused before any CRC could be checked)."""
    out, central = bytearray(), bytearray()
    for name, method, data, size in members:
        crc = zlib.crc32(data) if method == 0 else 0
        raw = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(data), size, len(raw), 0) + raw + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, len(data), size,
                               len(raw), 0, 0, 0, 0, 0, offset) + raw
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))
    return path


def _npy_header(shape: tuple[int, ...], dtype: str) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def npz_bomb(path: Path, gib: int = 2) -> Path:
    """An .npz of ~2 MiB whose x (float32 images of 1x28x28) inflates to `gib` GiB and whose y is small."""
    n = (gib << 30) // (28 * 28 * 4)
    n -= n % (CHUNK // (28 * 28 * 4) or 1)
    header = _npy_header((n, 1, 28, 28), "<f4")
    body = _zeros_deflate(n * 28 * 28 * 4 // CHUNK * CHUNK)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    x = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH) + body
    y = _npy_header((4,), "<i8") + np.zeros(4, "<i8").tobytes()
    return write_zip(path, [("x.npy", 8, x, len(header) + n * 28 * 28 * 4), ("y.npy", 0, y, len(y))])


def npz_declares_more(path: Path) -> Path:
    """A tiny stored .npz whose x header declares 2^33 float32 values (32 GiB) over 16 bytes of data."""
    x = _npy_header((1 << 27, 1, 8, 8), "<f4") + bytes(16)
    y = _npy_header((4,), "<i8") + np.zeros(4, "<i8").tobytes()
    return write_zip(path, [("x.npy", 0, x, len(x)), ("y.npy", 0, y, len(y))])


def npz_wrong_shape(path: Path, items: int = 64) -> Path:
    """A genuine small .npz whose images are 3x32x32 (a kernel for 1x28x28 refuses it from the header)."""
    np.savez_compressed(path, x=np.zeros((items, 3, 32, 32), np.float32), y=np.zeros(items, np.int64))
    return path


class _Storage:
    pass


def pt_bomb(path: Path, gib: int = 1) -> Path:
    """A torch.save-style .pt of ~1 MiB whose one float32 tensor's storage is a deflated `gib` GiB entry."""
    import torch

    numel = (gib << 30) // 4
    storage = _Storage()

    class _Tensor:
        def __reduce__(self):
            return (torch._utils._rebuild_tensor_v2, (storage, 0, (numel,), (1,), False, collections.OrderedDict()))

    class _Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", numel) if obj is storage else None

    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump({"fc.weight": _Tensor()})
    return write_zip(path, [("archive/data.pkl", 0, buf.getvalue(), len(buf.getvalue())),
                            ("archive/byteorder", 0, b"little", 6), ("archive/version", 0, b"3\n", 2),
                            ("archive/data/0", 8, _zeros_deflate(numel * 4), numel * 4)])


def onnx_declares_huge_input(path: Path, side: int = 6000) -> Path:
    """A ~200-byte ONNX model (one Relu) whose float input is declared 1x1xNxN."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, side, side])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, side, side])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def onnx_huge_pads(path: Path, pad: int = 100_000) -> Path:
    """A small ONNX conv (1x1 kernel on a 1x1x4x4 input) whose pads make a 200,004^2 output."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "conv.weight")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    node = helper.make_node("Conv", ["x", "conv.weight"], ["y"], pads=[pad] * 4, kernel_shape=[1, 1])
    graph = helper.make_graph([node], "g", [x], [y], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def pcz_header_hang(path: Path, repeats: int = 300_000) -> Path:
    """A .pcz whose header is `"` then `\\"` repeated: the former string regex backtracked quadratically on it
    (100,000 repeats: 117 s) before any checksum was looked at."""
    header = b'"' + b'\\"' * repeats
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


def pcz_header_memory(path: Path, mib: int = 60) -> Path:
    """A .pcz whose header is `mib` MiB of nested brackets and commas (the former pass cost ~125 bytes of
    memory per header byte: 7.5 GB for 60 MiB)."""
    header = (b"[" + b"0," * ((mib << 20) // 2 - 1) + b"0]")
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


_WRAPPER = """
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:])
print(f"\\n@@peak_kb={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", flush=True)
sys.exit(r.returncode)
"""


def run_measured(*args, timeout: float = 120, cwd: Path | None = None):
    """`python -m pycompress ARGS` under a wrapper that reports the command's own peak RSS: a
    CompletedProcess with `peak_bytes` and `seconds` added (stdout without the wrapper's line)."""
    import subprocess
    import sys
    import time

    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _WRAPPER, sys.executable, "-m", "pycompress", *map(str, args)],
                       capture_output=True, text=True, timeout=timeout, cwd=cwd)
    out, _, peak = r.stdout.rpartition("\n@@peak_kb=")
    r.stdout, r.peak_bytes, r.seconds = out, int(peak) * 1024, time.perf_counter() - start
    return r
