"""Compiler wrapper for Verilator builds (make's OBJCACHE): the runtime objects compiled once, then reused.

Every Verilator build compiles the same runtime (verilated*.cpp, cocotb's main), ~85% of a small design's
build time; a harness with one build per layer geometry (sim/conv_harness.py) pays it each time. Called as
`objcache.py CACHE_DIR c++ ... -c -o verilated.o verilated.cpp`: an object named in RUNTIME whose command
line (output folder aside) was compiled before is copied from CACHE_DIR; anything else compiles as usual.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

RUNTIME = ("verilated.o", "verilated_dpi.o", "verilated_vpi.o", "verilated_threads.o", "verilator.o")
# cocotb's main (verilator.o) includes the model's own header, the same name in every build folder: its
# contents (ports, timing entry points) join the key, or a main compiled for another model would be reused
MODEL_HEADERS = {"verilator.o": "Vtop.h"}


def main(argv: list[str]) -> int:
    cache, cmd = Path(argv[0]), argv[1:]
    out = Path(cmd[cmd.index("-o") + 1]) if "-o" in cmd[:-1] else None
    if out is None or out.name not in RUNTIME:
        return subprocess.run(cmd).returncode
    h = hashlib.sha256("\0".join(a if a != str(out) else out.name for a in cmd).encode())
    if out.name in MODEL_HEADERS:
        h.update(Path(MODEL_HEADERS[out.name]).read_bytes())  # make runs in the build folder
    key = h.hexdigest()[:16]
    cached = cache / f"{out.stem}-{key}.o"
    if cached.is_file():
        shutil.copyfile(cached, out)
        return 0
    rc = subprocess.run(cmd).returncode
    if rc == 0:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{cached.name}.{os.getpid()}"
        shutil.copyfile(out, tmp)
        os.replace(tmp, cached)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
