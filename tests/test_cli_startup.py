"""Start-up (issue 24, item 7): the parser, every sub-command's help and `import pycompress` load no torch;
reading a state_dict loads torch but not its export machinery. Timings are in benchmarks/bench_startup.py."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LENET = Path(__file__).resolve().parents[1] / "pycompress/models/lenet5_mnist.safetensors"

PROBE = """
import sys
{body}
heavy = sorted(m for m in ("torch", "torch.export", "torch._dynamo", "onnx", "onnxruntime") if m in sys.modules)
print(",".join(heavy))
"""


def _loaded(body: str) -> list[str]:
    r = subprocess.run([sys.executable, "-c", PROBE.format(body=body)], capture_output=True, text=True, check=True)
    return [m for m in r.stdout.strip().split(",") if m]


def test_help_and_package_import_load_no_torch():
    assert _loaded("import pycompress\nfrom pycompress.cli.main import build_parser\nbuild_parser()") == []


def test_every_subcommand_help_loads_no_torch():
    body = ("from pycompress.cli.main import build_parser\nimport contextlib, io\np = build_parser()\n"
            "sub = next(a for a in p._actions if a.dest == 'command')\n"
            "for name in sub.choices:\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        try: p.parse_args([name, '--help'])\n"
            "        except SystemExit: pass\n")
    assert _loaded(body) == []


def test_state_dict_read_loads_no_export_machinery():
    body = f"from pycompress.frontends import load_model\nload_model({str(LENET)!r})\n"
    loaded = _loaded(body)
    assert "torch" in loaded and "torch._dynamo" not in loaded and "onnx" not in loaded
