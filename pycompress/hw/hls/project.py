"""A generated HLS project seen from Python, in the style of hls4ml: compile() with g++, predict() via ctypes.

The shared library is the generated kernel plus its C-simulation bridge,
compiled with the ap_types headers shipped in the hls4ml package and
-DPYC_STANDALONE_CSIM (plain stream words instead of ap_axi_sdata.h).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pycompress.core.errors import PycompressError
from pycompress.core.fileio import inside, read_json_object

CXXFLAGS = ("-O2", "-std=c++14", "-fPIC", "-shared", "-ffp-contract=off", "-DPYC_STANDALONE_CSIM", "-w")
BUILD_DIR = "csim_build"
MAX_IMAGE_WORDS = 1 << 31  # 16 GiB: a DDR image larger than a ZedBoard's 512 MiB is a corrupt manifest anyway


def ap_types_dir() -> Path:
    """The ap_int.h / hls_stream.h headers inside the installed hls4ml package."""
    import importlib.util

    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise PycompressError("the hls4ml package (for its ap_types headers) is not installed: run `make install`")
    path = Path(list(spec.submodule_search_locations)[0]) / "templates" / "vivado" / "ap_types"
    if not (path / "ap_int.h").exists():
        raise PycompressError(f"{path}: no ap_int.h in the hls4ml package")
    return path


def build_and_run_decoder(folder: Path, name: str) -> None:
    """g++ builds `<name>.cpp` in `folder` (a stand-alone decoder test bench) and runs it there; either failing
    is one line. The test bench writes its decoded words beside itself."""
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        raise PycompressError(f"C++ compiler {cxx!r} not found (C simulation needs g++)")
    exe = folder / name
    res = subprocess.run([cxx, "-O2", "-std=c++14", "-w", "-I", str(ap_types_dir()), "-I", str(folder),
                          str(folder / f"{name}.cpp"), "-o", str(exe)], capture_output=True, text=True)
    if res.returncode != 0:
        first = next((line for line in res.stderr.splitlines() if "error" in line), res.stderr.strip()[:300])
        raise PycompressError(f"g++ failed on {folder}: {first}")
    run = subprocess.run([str(exe)], cwd=folder, capture_output=True, text=True)
    if run.returncode != 0:
        raise PycompressError(f"{exe} failed: {run.stderr.strip()[:300]}")


def _check_manifest(m: dict) -> None:
    """The fields C simulation reads, typed (a hand-edited project.json gets one line, not an internal error)."""
    files, params = m.get("files"), m.get("params")
    if not isinstance(m["top"], str) or not m["top"].isidentifier():
        raise ValueError(f"top {m['top']!r:.40} is not an identifier")
    if not 0 < int(m["input_size"]) <= 1 << 31 or not 0 < int(m["output_size"]) <= 1 << 31:
        raise ValueError("input_size and output_size must be positive")
    if not isinstance(files, dict) or not all(isinstance(files.get(k), str) for k in ("model", "csim_bridge")) \
            or not isinstance(files.get("sources"), list) or not all(isinstance(f, str) for f in files["sources"]):
        raise ValueError("files must name the model, the sources and the csim bridge")
    if not isinstance(params, list) or not all(isinstance(p, dict) and isinstance(p.get("tensor"), str) for p in params):
        raise ValueError("params must be a list of objects naming their tensor")


class HLSProject:
    """A project folder written by `pycompress generate`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        manifest = self.path / "project.json"
        if not manifest.exists():
            raise PycompressError(f"{self.path}: not a pycompress HLS project (no project.json)")
        self.manifest = read_json_object(manifest, "manifest")
        try:
            self.top = self.manifest["top"]
            self.input_size = int(self.manifest["input_size"])
            self.output_size = int(self.manifest["output_size"])
            _check_manifest(self.manifest)
        except (KeyError, TypeError, ValueError) as exc:
            raise PycompressError(f"{manifest}: unreadable manifest ({exc})") from None
        self._lib: ctypes.CDLL | None = None
        self.ddr = self.manifest.get("ddr") if self.manifest.get("weights") == "ddr" else None
        self._image: np.ndarray | None = None  # the C simulation's "DDR": must outlive every call into the library
        if self.ddr is not None:
            self._ddr_image()

    def _ddr_image(self) -> tuple[Path, int]:
        """The DDR image's path (inside the project, no link on the way; a regular file) and its size in words,
        checked when the project is opened: before anything is compiled."""
        from pycompress.core.inputs import check_regular

        words = self.ddr.get("words") if isinstance(self.ddr, dict) else None
        image = self.ddr.get("image") if isinstance(self.ddr, dict) else None
        if type(words) is not int or not 0 <= words <= MAX_IMAGE_WORDS or not isinstance(image, str):
            raise PycompressError(f"{self.path / 'project.json'}: ddr.words must be an integer 0..{MAX_IMAGE_WORDS} "
                                  f"and ddr.image a file name, not {words!r:.40} and {image!r:.60}")
        path = inside(self.path, image, make=False)
        check_regular(path, "the DDR weight image")
        return path, words

    def _attach_image(self, lib: ctypes.CDLL) -> None:
        """Load the weight image from the project folder, as the host program writes it into DDR."""
        from .ddr import read_image

        from pycompress.core.inputs import read_regular

        path, words = self._ddr_image()
        data = read_regular(path, "the DDR weight image", limit=words * 8)  # a FIFO or device is refused unread
        self._image = np.ascontiguousarray(read_image(data, words))
        lib.pycompress_set_image.argtypes = [ctypes.c_void_p, ctypes.c_long]
        if lib.pycompress_set_image(self._image.ctypes.data, self._image.size) != 0:
            raise PycompressError(f"{path}: the kernel was generated for another image size")

    def sources(self) -> list[Path]:
        files = self.manifest["files"]
        return [self.path / f for f in files["sources"] + [files["csim_bridge"]]]

    def _library_path(self) -> Path:
        """Named by a hash of the sources and flags, so a regenerated project is never run stale."""
        h = hashlib.sha256(" ".join(CXXFLAGS).encode())
        for f in sorted((self.path / "firmware").iterdir()):
            h.update(f.name.encode())
            h.update(f.read_bytes())
        return inside(self.path, f"{BUILD_DIR}/lib{self.top}_{h.hexdigest()[:16]}.so", make=False)

    def compile(self, progress: bool = True) -> Path:
        """Build the shared library once (cached by content); returns its path.

        $PYCOMPRESS_CSIM_CACHE (the test suite sets it) names a folder that shares libraries between projects
        with the same sources and flags: compiled once, under a lock, so parallel processes never compile the
        same kernel twice."""
        lib = self._library_path()
        if not lib.exists():
            inside(self.path, f"{BUILD_DIR}/{lib.name}")  # the build folder: made here, never through a link
            shared = os.environ.get("PYCOMPRESS_CSIM_CACHE")
            if shared:
                self._copy_from_shared(lib, Path(shared), progress)
            else:
                self._compile_to(lib, progress)
        self._lib = None
        self._lib_path = lib
        return lib

    def _compile_to(self, lib: Path, progress: bool) -> None:
        cxx = os.environ.get("CXX", "g++")
        if shutil.which(cxx) is None:
            raise PycompressError(f"C++ compiler {cxx!r} not found (C simulation needs g++)")
        tmp = lib.with_suffix(f".{os.getpid()}.tmp")
        cmd = [cxx, *CXXFLAGS, "-I", str(ap_types_dir()), "-I", str(self.path / "firmware"),
               *map(str, self.sources()), "-o", str(tmp)]
        start = time.perf_counter()
        if progress:
            print(f"compiling {self.top} with {cxx} ...", file=sys.stderr, flush=True)
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            tmp.unlink(missing_ok=True)
            first = next((l for l in res.stderr.splitlines() if "error" in l), res.stderr.strip()[:300])
            raise PycompressError(f"g++ failed on {self.path}: {first}")
        os.replace(tmp, lib)
        if progress:
            print(f"compiled in {time.perf_counter() - start:.1f}s -> {lib}", file=sys.stderr, flush=True)

    def _copy_from_shared(self, lib: Path, folder: Path, progress: bool) -> None:
        import fcntl

        folder.mkdir(parents=True, exist_ok=True)
        cached = folder / f"{Path(os.environ.get('CXX', 'g++')).name}-{lib.name}"
        with open(cached.with_name(cached.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not cached.exists():
                self._compile_to(cached, progress)
        tmp = lib.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(cached, tmp)
        os.replace(tmp, lib)

    def _load(self) -> ctypes.CDLL:
        if self._lib is None:
            lib = ctypes.CDLL(str(self.compile(progress=False) if not hasattr(self, "_lib_path") else self._lib_path))
            lib.pycompress_predict.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
            lib.pycompress_predict.restype = ctypes.c_int
            lib.pycompress_dump_param.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
            lib.pycompress_param_size.argtypes = [ctypes.c_int]
            lib.pycompress_widen_fp16.argtypes = [ctypes.c_uint]
            lib.pycompress_widen_fp16.restype = ctypes.c_uint
            lib.pycompress_widen_bf16.argtypes = [ctypes.c_uint]
            lib.pycompress_widen_bf16.restype = ctypes.c_uint
            if self.ddr is not None:
                self._attach_image(lib)
            self._lib = lib
        return self._lib

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Kernel outputs (N, output_size) float32 for N inputs of input_size floats each."""
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(-1, self.input_size))
        y = np.zeros((x.shape[0], self.output_size), np.float32)
        rc = self._load().pycompress_predict(x.ctypes.data, y.ctypes.data, x.shape[0])
        if rc != 0:
            raise PycompressError(f"{self.top}: output stream of input {-rc - 1} malformed (TLAST or word count)")
        return y

    def decoded_weights(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per tensor: (raw bits in its storage format, float32 bits after widening), as the C++ decoders give them."""
        lib = self._load()
        out = {}
        for k, p in enumerate(self.manifest["params"]):
            n = lib.pycompress_param_size(k)
            fmt_bits, float_bits = np.zeros(n, np.uint32), np.zeros(n, np.uint32)
            if lib.pycompress_dump_param(k, fmt_bits.ctypes.data, float_bits.ctypes.data) != 0:
                raise PycompressError(f"{self.top}: no decoder for parameter {k}")
            out[p["tensor"]] = (fmt_bits, float_bits)
        return out

    def widen(self, bits: np.ndarray, fmt: str) -> np.ndarray:
        """The kernel's fp16/bf16 -> float widening applied to raw bit patterns (for exhaustive checks)."""
        fn = {"fp16": self._load().pycompress_widen_fp16, "bf16": self._load().pycompress_widen_bf16}[fmt]
        return np.array([fn(int(b)) for b in np.asarray(bits).reshape(-1)], dtype=np.uint32)
