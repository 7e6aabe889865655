"""The command line as a user runs it: real subprocesses, real files."""
import json
import pickle

import pytest
import torch

from conftest import run_cli
from pycompress.core.formats import tensor_bits


def eq1_savings(state_dict, fmt_dtype, l_bits, m_bits, total_bits):
    """Eq. 1/2 computed here, independently of pycompress.core.accounting."""
    orig = comp = 0
    for t in state_dict.values():
        if t.dim() < 2:
            continue
        bits = tensor_bits(t.to(fmt_dtype)).astype("int64").reshape(-1)
        exps = set(((bits >> m_bits) & ((1 << l_bits) - 1)).tolist())
        e = len(exps)
        i = 1
        while (1 << i) < e:
            i += 1
        n = t.numel()
        orig += n * total_bits
        comp += n * (1 + i + m_bits) + l_bits * e
    return 100.0 * (orig - comp) / orig


@pytest.mark.slow
def test_stats_json_on_trained_lenet(lenet_path, lenet_state_dict):
    r = run_cli("stats", lenet_path, "--format", "bf16", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["savings_pct"] == pytest.approx(eq1_savings(lenet_state_dict, torch.bfloat16, 8, 7, 16), abs=1e-9)
    names = [layer["name"] for layer in out["layers"]]
    assert names == ["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight", "fc3.weight"]
    for layer in out["layers"]:
        bits = tensor_bits(lenet_state_dict[layer["name"]].to(torch.bfloat16)).astype("int64").reshape(-1)
        assert layer["distinct_exponents"] == len(set(((bits >> 7) & 0xFF).tolist()))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["fp32", "bf16", "fp16"])
def test_compress_decompress_evaluate(tmp_path, lenet_path, lenet_state_dict, fmt):
    pcz, out = tmp_path / "m.pcz", tmp_path / "m.safetensors"
    r = run_cli("compress", lenet_path, "-o", pcz, "--format", fmt)
    assert r.returncode == 0, r.stderr
    assert run_cli("decompress", pcz, "-o", out).returncode == 0
    from safetensors.torch import load_file

    back = load_file(str(out))
    for name, t in lenet_state_dict.items():
        ref = t.to({"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[fmt])
        assert back[name].dtype == ref.dtype
        assert (tensor_bits(back[name]) == tensor_bits(ref)).all(), name
    a = json.loads(run_cli("evaluate", pcz, "--json").stdout)["accuracy"]
    b = json.loads(run_cli("evaluate", out, "--json").stdout)["accuracy"]
    from pycompress.frontends.lenet import accuracy, load_lenet

    assert a == b == accuracy(load_lenet(back))  # the format-cast weights, evaluated in-process


class Evil:
    def __reduce__(self):
        return (print, ("owned",))


def bad_inputs(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("just some text\n")
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"w": Evil()}, f)
    torch_evil = tmp_path / "evil2.pth"
    torch.save({"w": torch.zeros(2, 2), "x": Evil()}, torch_evil)
    good = tmp_path / "good.pt"
    torch.save({"w": torch.randn(3, 3)}, good)
    pcz = tmp_path / "good.pcz"
    assert run_cli("compress", good, "-o", pcz).returncode == 0
    blob = pcz.read_bytes()
    trunc = tmp_path / "trunc.pcz"
    trunc.write_bytes(blob[: len(blob) // 2])
    flipped = tmp_path / "flip.pcz"
    b = bytearray(blob)
    b[-3] ^= 0x10
    flipped.write_bytes(bytes(b))
    quant = tmp_path / "quant.pt"
    torch.save({"w": torch.randn(3, 3), "c": torch.zeros(2, 2, dtype=torch.complex64)}, quant)
    f8 = tmp_path / "f8.pt"
    torch.save({"w": torch.randn(3, 3).to(torch.float8_e4m3fn)}, f8)
    ints = tmp_path / "ints.pt"
    torch.save({"w": torch.arange(6).reshape(2, 3)}, ints)
    return [
        (["compress", tmp_path / "missing.pt", "-o", tmp_path / "o.pcz"], "no such file"),
        (["compress", text, "-o", tmp_path / "o.pcz"], "not a PyTorch state_dict"),
        (["compress", evil, "-o", tmp_path / "o.pcz"], "refused"),
        (["compress", torch_evil, "-o", tmp_path / "o.pcz"], "refused"),
        (["decompress", trunc, "-o", tmp_path / "o.safetensors"], "truncated|corrupt"),
        (["decompress", flipped, "-o", tmp_path / "o.safetensors"], "corrupt"),
        (["stats", ints], "no floating tensors"),
        (["compress", quant, "-o", tmp_path / "o.pcz"], "unsupported dtype torch.complex64"),
        (["compress", f8, "-o", tmp_path / "o.pcz"], "unsupported dtype torch.float8_e4m3fn"),
        (["compress", good, "-o", tmp_path / "o.pcz", "--format", "fp8"], "unknown format"),
        (["evaluate", good], "not a LeNet-shaped model"),
    ]


def test_bad_input_one_line_no_output(tmp_path):
    for args, pattern in bad_inputs(tmp_path):
        before = set(p.name for p in tmp_path.iterdir())
        r = run_cli(*args)
        assert r.returncode != 0, args
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, (args, r.stderr)
        import re

        assert re.search(pattern, lines[0]), (args, lines[0])
        assert "Traceback" not in r.stderr and "owned" not in r.stdout
        assert set(p.name for p in tmp_path.iterdir()) == before, f"{args} left files behind"


def test_help_lists_every_command():
    r = run_cli("--help")
    assert r.returncode == 0
    for cmd in ("train", "stats", "compress", "decompress", "evaluate", "demo"):
        assert cmd in r.stdout
