"""`pycompress approximate / mantissa / esart` through the CLI entry point: outputs, recorded accuracy, one-line errors."""
from __future__ import annotations

import pytest

from pycompress.core import container
from pycompress.cli.main import main
from pycompress.frontends.lenet import accuracy, load_lenet


def test_approximate_writes_pcz_with_its_recorded_accuracy(tmp_path, lenet_path, capsys):
    out = tmp_path / "a2.pcz"
    assert main(["approximate", str(lenet_path), "--method", "a2", "--max-iterations", "1", "-o", str(out)]) == 0
    cm = container.load(out)
    assert cm.info["method"] == "a2-magnitude" and cm.info["iteration"] == 1
    assert cm.info["records"][1]["index_bits"] == {n: st.index_bits for n, st in cm.tensors.items()}
    assert accuracy(load_lenet(cm.state_dict()), part="validation") == cm.info["accuracy"]  # selects
    assert accuracy(load_lenet(cm.state_dict()), part="test") == cm.info["test_accuracy"]  # reported
    assert "memory saved vs bf16" in capsys.readouterr().out


def test_mantissa_bits_stores_m_prime(tmp_path, lenet_path):
    out = tmp_path / "m.pcz"
    assert main(["mantissa", str(lenet_path), "--variant", "bits", "--start", "5", "--stop", "4", "--exponent", "a3",
                 "--index-bits", "3", "-o", str(out)]) == 0
    cm = container.load(out)
    assert {st.mantissa_bits for st in cm.tensors.values()} == {4}
    assert all(st.distinct_exponents <= 8 for st in cm.tensors.values())


@pytest.mark.parametrize("args, message", [
    (["approximate", "{m}", "-o", "x.pt"], "must end in .pcz"),
    (["approximate", "{m}", "--method", "a9", "-o", "x.pcz"], "invalid choice"),
    (["esart", "{m}", "--epochs", "0", "-o", "x.pcz"], "epochs"),
    (["approximate", "missing.pt", "-o", "x.pcz"], "missing.pt"),
    (["mantissa", "{m}", "--variant", "bits", "--start", "9", "-o", "x.pcz"], "mantissa bits"),
    (["study", "--quick", "-o", "x.pcz/report"], "cannot create"),
])
def test_errors_are_one_line(tmp_path, lenet_path, args, message, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if args[0] == "study":
        (tmp_path / "x.pcz").write_text("a file where a folder is needed")
    assert main([a.format(m=lenet_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.pcz").exists() or args[0] == "study"
