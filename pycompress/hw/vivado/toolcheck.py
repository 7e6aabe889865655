"""Find Vitis/Vivado HLS and Vivado on PATH and check their versions, before any work starts."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from pycompress.core.errors import PycompressError

SUPPORTED = ((2019, 2), (2024, 2))  # inclusive range of Xilinx/AMD tool releases
HLS_TOOLS = ("vitis_hls", "vivado_hls")  # preferred first
_VERSION = re.compile(r"\bv(20\d\d)\.(\d)")
SETTINGS_HINT = "source Vivado's settings64.sh first, e.g. `source /tools/Xilinx/Vivado/2023.2/settings64.sh`"


@dataclass(frozen=True)
class Tool:
    name: str
    path: str
    version: tuple[int, int]

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


@dataclass(frozen=True)
class Toolchain:
    hls: Tool | None  # None: not needed (the RTL engine)
    vivado: Tool
    xsct: str | None  # optional: only the host program needs it


def _supported_text() -> str:
    (a, b), (c, d) = SUPPORTED
    return f"{a}.{b}-{c}.{d}"


def tool_version(path: str) -> tuple[int, int] | None:
    """Release of a Xilinx tool from `<tool> -version` (None if it does not say)."""
    try:
        proc = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(proc.stdout + proc.stderr)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _checked(name: str, path: str) -> Tool:
    version = tool_version(path)
    if version is None:
        raise PycompressError(f"{name} at {path} did not report a version (`{name} -version`); {SETTINGS_HINT}")
    if not SUPPORTED[0] <= version <= SUPPORTED[1]:
        raise PycompressError(f"{name} {version[0]}.{version[1]} at {path} is not supported "
                              f"(supported {_supported_text()}); {SETTINGS_HINT}")
    return Tool(name, path, version)


def check_tools(path: str | None = None, need_hls: bool = True) -> Toolchain:
    """The HLS tool (unless `need_hls` is False: the RTL engine) and Vivado, or one line that says what is missing
    and how to fix it."""
    search = path if path is not None else os.environ.get("PATH", "")
    hls = next(((n, p) for n in HLS_TOOLS if (p := shutil.which(n, path=search))), None) if need_hls else None
    vivado = shutil.which("vivado", path=search)
    missing = ([] if hls or not need_hls else ["vitis_hls (or vivado_hls)"]) + ([] if vivado else ["vivado"])
    if missing:
        raise PycompressError(f"Vivado tools not found on PATH: {' and '.join(missing)} missing "
                              f"(supported {_supported_text()}); {SETTINGS_HINT}")
    assert vivado is not None
    return Toolchain(_checked(*hls) if hls else None, _checked("vivado", vivado), shutil.which("xsct", path=search))
