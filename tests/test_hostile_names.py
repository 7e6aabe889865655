"""Names are data, never code: hostile tensor and layer names through every generator, compiled and run.

A `.safetensors` file carries any tensor name; a crafted `.pcz` also carries layer names in its
graph. Each name below tries to end a comment, start a directive, break a string or run a
command that would create a canary file. The generated files must hold none of them raw, the
C++ must compile and run bit-exact, the SystemVerilog must lint (and simulate), and the TCL
must parse, with no canary created.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from conftest import run_cli
from pycompress.core import container
from pycompress.compress import CompressConfig, compress_state_dict
from pycompress.core.errors import PycompressError
from pycompress.frontends.graph_builtin import graph_for
from pycompress.hw.names import (ModelName, cpp_comment, finalize, sanitize_identifier, sv_comment, tcl_comment,
    unique_identifiers)

CANARY = "/tmp/pycompress-canary-{}"  # formatted per test with a tmp folder name


def hostile_names(canary: str, long: int = 3000) -> list[str]:
    touch = f'system("touch {canary}")'
    return [
        f"w\nint pwn = {touch};\n//",  # newline ends a // comment
        f"a*/ {touch}; /*",  # ends a block comment
        '`define X 1\n`include "/etc/passwd"',  # SV directives
        f"x\ninitial $system(\"touch {canary}\");\n",  # Verilog system task
        f'q"; [exec touch {canary}]; set x "${{x}}',  # TCL command substitution, variables, quotes
        "nul\x00byte",
        f"ls\u2028{touch};\u2029\x85\x0b\x0c\rend",  # unicode and other line terminators
        "trail\\",  # backslash at the end of a // comment splices the next line
        "tri??/",  # trigraph for a backslash
        "long_" + "x" * long,  # very long: identifiers and file names must stay short
        "conv1.weight",  # an ordinary one beside them
    ]


def _tiny_model() -> nn.Module:
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 10))
    m.input_shape, m.dataset = (1, 8, 8), "digits8"  # a labelled test split, for the host program
    return m


def _hostile_pcz(path: Path, canary: str) -> list[str]:
    """A crafted `.pcz`: the tiny CNN with hostile tensor names and hostile layer names in its graph."""
    model = _tiny_model()
    graph = graph_for(model)
    sd = model.state_dict()
    names = hostile_names(canary, long=250)  # a graph holds names up to 256 characters
    rename = dict(zip(sd, names))
    layer_names = iter(names[::-1])
    for layer in graph["layers"]:
        layer["name"] = next(layer_names)
        for role in ("weight", "bias"):
            if layer.get(role):
                layer[role] = rename[layer[role]]
    cm = compress_state_dict({rename[k]: v for k, v in sd.items()}, CompressConfig(format="bf16", include_all=True),
                             graph=graph)
    container.save(cm, path)
    return list(rename.values()) + [layer["name"] for layer in graph["layers"]]


def _assert_no_raw_name(folder: Path, names: list[str]) -> None:
    dangerous = [n for n in names if n != "conv1.weight"]
    for f in folder.rglob("*"):
        if f.is_file() and f.suffix not in (".pcz", ".so", ".json"):
            text = f.read_text(encoding="utf-8", errors="replace")
            for n in dangerous:
                assert n not in text, f"{f}: holds the raw name {n!r}"
            for marker in ("\u2028", "\u2029", "\x85", "\x00", "\x0b", "\x0c", "\r", "`define X", "`include \"/etc"):
                assert marker not in text, f"{f}: holds {marker!r}"
            for line in text.splitlines():  # what a name left outside a comment would look like
                if any(m in line for m in ("system(", "exec ", "int pwn")):
                    assert line.lstrip().startswith(("//", "#", "/*", "*")), f"{f}: code line {line!r}"


# ---- the escaping functions ----------------------------------------------------------------------------

@pytest.mark.parametrize("escape", [cpp_comment, sv_comment, tcl_comment])
def test_comment_escapers_leave_only_safe_printable_ascii(escape):
    for name in hostile_names("/tmp/c"):
        out = escape(name)
        assert all(" " <= ch <= "~" for ch in out), out
        for bad in ("*/", "/*", "`", "\\", "??"):
            assert bad not in out
        assert len(out) <= 3 * 160 + 3
    assert escape("conv1.weight") == "conv1.weight"
    assert escape(ModelName("a\nb")) == "a%0Ab"


def test_identifiers_are_short_unique_plain_and_not_keywords():
    names = hostile_names("/tmp/c") + ["module", "int", "pyc_widen_bf16", "l0_conv", "A", "a", "u_x", ""]
    idents = unique_identifiers(names)
    assert len(set(idents.values())) == len(names)
    for ident in idents.values():
        assert ident.isascii() and ident.replace("_", "").isalnum() and ident[0].isalpha() and len(ident) <= 48
        assert "__" not in ident and ident not in ("module", "int") and not ident.startswith(("pyc", "l0_", "u_"))
    assert sanitize_identifier("long_" + "x" * 3000) != sanitize_identifier("long_" + "x" * 2999)


def test_finalize_refuses_raw_names_and_non_token_strings():
    assert finalize("conv1_weight") == "conv1_weight" and finalize(3) == 3
    for bad in (ModelName("conv1"), "a b", "x\n", "a*/", "`define", True, None, [1]):
        with pytest.raises(PycompressError, match="escaping filter"):
            finalize(bad)


# ---- through the generators ----------------------------------------------------------------------------

@pytest.fixture()
def hostile(tmp_path):
    canary = str(tmp_path / "CANARY")
    pcz = tmp_path / "hostile.pcz"
    names = _hostile_pcz(pcz, canary)
    return pcz, names, Path(canary)


def test_compress_of_a_safetensors_with_hostile_names_then_rtl(tmp_path):
    from safetensors.torch import save_file

    canary = tmp_path / "CANARY"
    names = hostile_names(str(canary))
    torch.manual_seed(0)
    save_file({n: torch.randn(4, 3) for n in names}, str(tmp_path / "m.safetensors"))
    r = run_cli("compress", tmp_path / "m.safetensors", "-o", tmp_path / "m.pcz")
    assert r.returncode == 0, r.stderr
    r = run_cli("rtl", tmp_path / "m.pcz", "-o", tmp_path / "rtl")
    assert r.returncode == 0, r.stderr
    _assert_no_raw_name(tmp_path / "rtl", names)
    files = sorted(p.name for p in (tmp_path / "rtl").iterdir())
    assert all(len(f) < 80 for f in files)
    assert not canary.exists()


@pytest.mark.csim
@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")
def test_generate_and_csim_of_hostile_names(hostile, tmp_path):
    pcz, names, canary = hostile
    r = run_cli("generate", pcz, "-o", tmp_path / "hls")
    assert r.returncode == 0, r.stderr
    _assert_no_raw_name(tmp_path / "hls", names)
    r = run_cli("csim", tmp_path / "hls")
    assert r.returncode == 0, r.stderr
    assert "bit-exact: True" in r.stdout
    assert not canary.exists()


@pytest.mark.sim
def test_rtl_of_hostile_names_lints_and_simulates(hostile, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sim"))
    import harness

    from pycompress.hw.rtl.images import TOP, rtl_sources

    pcz, names, canary = hostile
    out = tmp_path / "rtl"
    r = run_cli("rtl", pcz, "-o", out)
    assert r.returncode == 0, r.stderr
    _assert_no_raw_name(out, names)
    harness.setup_tools()
    lint = subprocess.run(["verilator", "--lint-only", "-Wall", "-I.", *map(str, rtl_sources()), f"{TOP}.sv",
                           "--top-module", TOP], capture_output=True, text=True, cwd=out)
    assert lint.returncode == 0, lint.stderr
    # Elaborate and run the top to time 0: every initial block ($readmemh, or an injected $system) runs here.
    (out / "tb.sv").write_text("module tb; logic clk = 0, rst_n = 0;\n"
                               f"  {TOP} dut (.clk(clk), .rst_n(rst_n));\n"
                               "  initial begin $display(\"tb done\"); $finish; end\nendmodule\n")
    build = subprocess.run(["verilator", "--binary", "-Wno-fatal", "-Wno-lint", "-Wno-PINMISSING",
                            "-I.", *map(str, rtl_sources()), f"{TOP}.sv", "tb.sv", "--top-module", "tb", "-j", "1"],
                           capture_output=True, text=True, cwd=out)
    assert build.returncode == 0, build.stderr[-2000:]
    run = subprocess.run([str(out / "obj_dir" / "Vtb")], capture_output=True, text=True, cwd=out)
    assert run.returncode == 0 and "tb done" in run.stdout, run.stderr
    assert not canary.exists()


@pytest.mark.tclsh
def test_bitstream_scripts_of_hostile_names_parse_in_tclsh(hostile, tmp_path):
    pcz, names, canary = hostile
    r = run_cli("bitstream", pcz, "-o", tmp_path / "v", "--name", names[4], "--scripts-only")
    assert r.returncode == 0, r.stderr
    (build,) = (tmp_path / "v").iterdir()
    assert build.name.isidentifier()
    _assert_no_raw_name(build, names)
    if shutil.which("tclsh") is None:
        pytest.skip("tclsh not installed")
    # build_prj.tcl runs under tclsh with every tool command a no-op: only an injected [exec ...] could act
    stub = "proc unknown {args} {}\ncd [lindex $argv 0]\nsource build_prj.tcl\n"
    p = subprocess.run(["tclsh", "/dev/stdin", str(build / "hls")], input=stub, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for script in [*build.rglob("*.tcl")]:
        # parse every command without running it: `info complete` on the whole text, then each line's words
        check = ("set f [open [lindex $argv 0]]; set t [read $f]; close $f\n"
                 "if {![info complete $t]} { puts INCOMPLETE; exit 1 }\n"
                 "puts ok\n")
        p = subprocess.run(["tclsh", "/dev/stdin", str(script)], input=check, capture_output=True, text=True)
        assert p.returncode == 0 and "ok" in p.stdout, (script, p.stdout, p.stderr)
    assert not canary.exists()
