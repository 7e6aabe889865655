"""The generated HLS project's manifest (project.json), reduced to what the Vivado flow needs.

The HLS generator owns project.json; this module reads it once, checks that every value
the flow writes into TCL or C is there and well-formed, and names the one that is not.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pycompress.hw import kernel_interface as ki
from pycompress.core.errors import PycompressError
from pycompress.core.fileio import read_json_object

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class DdrPort:
    """One AXI master of the kernel (m_axi_<bundle>): a pointer argument reading one weight's segment."""

    port: str  # the top function's pointer argument; its offset register sits in the control bundle
    bundle: str
    offset_words: int  # where its segment starts in the image

    @property
    def pin(self) -> str:
        return f"m_axi_{self.bundle}"


@dataclass(frozen=True)
class DdrWeights:
    """`generate --weights ddr`: every weight read through its own AXI master from one image in DDR."""

    ports: tuple[DdrPort, ...]
    words: int  # 64-bit words of the image
    image: str  # the image file, relative to the HLS project
    sha256: str

    @property
    def pins(self) -> tuple[str, ...]:
        return tuple(p.pin for p in self.ports)


@dataclass(frozen=True)
class KernelManifest:
    """The kernel as the block design and the host program see it."""

    hls_dir: Path
    top: str
    input_port: str
    output_port: str
    control_bundle: str
    input_size: int  # floats (stream beats) per image
    output_size: int  # beats per result
    num_classes: int
    input_shape: tuple[int, ...]
    part: str
    clock_period_ns: float
    build_script: str  # file name of the HLS build script inside hls_dir
    ip_subdir: str  # where export_design puts component.xml, relative to hls_dir
    report_subdir: str  # where csynth.rpt/.xml land, relative to hls_dir
    baseline: bool
    top_header: str  # header declaring the top function, relative to the firmware folder
    sources: tuple[str, ...]  # kernel C++ sources, relative to hls_dir
    data: dict  # the whole manifest, for provenance
    ddr: DdrWeights | None = None  # weights in DDR (None: on-chip ROM)

    @property
    def kernel_vlnv(self) -> str:
        return f"{ki.IP_VENDOR}:{ki.IP_LIBRARY}:{self.top}:{ki.IP_VERSION}"

    @property
    def output_is_scores(self) -> bool:
        return self.output_size == self.num_classes


def _find(data: dict, *paths: str, default: object = None) -> object:
    """First present value among dotted key paths."""
    for path in paths:
        node: object = data
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            return node
    return default


def _ident(value: object, what: str, where: Path) -> str:
    if not isinstance(value, str) or not _IDENT.fullmatch(value):
        raise PycompressError(f"{where}: {what} {value!r} is not a plain identifier")
    return value


def _positive(value: object, what: str, where: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise PycompressError(f"{where}: {what} {value!r} is not a positive integer")
    return value


def _relpath(value: object, what: str, where: Path) -> str:
    if not isinstance(value, str) or not value or Path(value).is_absolute() or ".." in Path(value).parts:
        raise PycompressError(f"{where}: {what} {value!r} is not a relative path inside the project")
    return Path(value).as_posix()


def _header(data: dict, top: str) -> str:
    """The header of the top function (files.headers' first entry), relative to firmware/."""
    headers = _find(data, "files.headers", default=None)
    first = headers[0] if isinstance(headers, list) and headers else f"firmware/{top}.h"
    return first[len("firmware/"):] if isinstance(first, str) and first.startswith("firmware/") else first


def _ddr(data: dict, where: Path) -> DdrWeights | None:
    if data.get("weights", "bram") != "ddr":
        return None
    d = data.get("ddr")
    if not isinstance(d, dict):
        raise PycompressError(f"{where}: weights in DDR but no \"ddr\" section")
    sha = d.get("sha256")
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise PycompressError(f"{where}: ddr.sha256 {sha!r} is not a SHA-256 digest")
    ports = d.get("ports")
    if not isinstance(ports, list) or not ports or not all(isinstance(p, dict) for p in ports):
        raise PycompressError(f"{where}: ddr.ports must list the kernel's AXI masters")
    words = _positive(d.get("words"), "DDR image words", where)
    out = []
    for p in ports:
        offset = p.get("offset_words")
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < words:
            raise PycompressError(f"{where}: ddr port offset {offset!r} outside the image of {words} words")
        out.append(DdrPort(_ident(p.get("port"), "DDR weight port", where), _ident(p.get("bundle"), "DDR bundle", where),
                           offset))
    return DdrWeights(tuple(out), words, _relpath(d.get("image"), "DDR image", where), sha)


def load_manifest(hls_dir: str | Path) -> KernelManifest:
    """Read <hls_dir>/project.json; one clear error if it is missing or incomplete."""
    hls_dir = Path(hls_dir)
    path = hls_dir / "project.json"
    if not path.is_file():
        raise PycompressError(f"{hls_dir}: no project.json; generate the HLS project first (pycompress generate)")
    data = read_json_object(path, "manifest")
    top = _ident(_find(data, "top_function", "top", "interface.top_function"), "top function", path)
    in_shape = _find(data, "input_shape", "input.shape", "interface.input_shape", default=[])
    in_shape = tuple(int(v) for v in in_shape) if isinstance(in_shape, list) else ()
    in_size = _find(data, "input_size", "input.size", "interface.input_size")
    if in_size is None and in_shape:
        in_size = 1
        for v in in_shape:
            in_size *= v
    out_size = _positive(_find(data, "output_size", "output.size", "interface.output_size"), "output size", path)
    num_classes = _find(data, "num_classes", "output.classes", default=out_size)
    # build_prj.tcl opens project prj_<top> (hls_templates/build_prj.tcl.j2) unless the manifest says otherwise
    project = _find(data, "hls_project", "project_name", default=f"prj_{top}")
    solution = _find(data, "solution", default="solution1")
    ip_default = f"{project}/{solution}/impl/ip" if isinstance(project, str) else None
    rpt_default = f"{project}/{solution}/syn/report" if isinstance(project, str) else None
    period = _find(data, "clock_period_ns", "clock_period", "clock.period_ns", default=10.0)
    return KernelManifest(
        hls_dir=hls_dir,
        top=top,
        input_port=_ident(_find(data, "ports.input", "input_port", default=ki.INPUT_PORT), "input port", path),
        output_port=_ident(_find(data, "ports.output", "output_port", default=ki.OUTPUT_PORT), "output port", path),
        control_bundle=_ident(_find(data, "ports.control", "control_bundle", default=ki.CONTROL_BUNDLE), "control bundle", path),
        input_size=_positive(in_size, "input size", path),
        output_size=out_size,
        num_classes=_positive(num_classes, "number of classes", path),
        input_shape=in_shape,
        part=str(_find(data, "part", default="")),
        clock_period_ns=float(period),  # type: ignore[arg-type]
        build_script=_relpath(_find(data, "files.tcl", "build_script", default="build_prj.tcl"), "build script", path),
        ip_subdir=_relpath(_find(data, "ip_dir", "export.ip_dir", default=ip_default), "IP export folder", path),
        report_subdir=_relpath(_find(data, "report_dir", "export.report_dir", default=rpt_default), "report folder", path),
        baseline=bool(_find(data, "baseline", default=top == ki.BASELINE_TOP_FUNCTION)),
        top_header=_relpath(_header(data, top), "top header", path),
        sources=tuple(_relpath(v, "kernel source", path) for v in _find(data, "files.sources", default=[f"firmware/{top}.cpp"])),
        data=data,
        ddr=_ddr(data, path),
    )
