"""`pycompress rtl` on a residual network with global average pooling, and `pycompress rtlsim` (issue 24).

A tiny network of the kind users bring (.pt2: a stem conv, a residual block with a LeakyReLU between its
convs, `x.mean((2, 3))`, a linear head) exercises every unit the chain engine lacked: stream_fork, the
skip FIFO, act_unit, add_unit with its fused ReLU and gap_unit. The default run checks what `rtl` writes
(the stages, a lint-clean top), its one-line refusal of an engine over the board and rtlsim's refusals;
the Verilator run of rtlsim itself (a build of about a minute, cached by the SystemVerilog text) is `long`.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(folder, .pt2, .npz, .pcz) of the tiny residual GAP network, random weights (seed 0)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class TinyRes(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(1, 4, 3, padding=1)
            self.c1, self.c2 = nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.act, self.fc = nn.LeakyReLU(0.1), nn.Linear(4, 3)

        def forward(self, x):
            s = F.relu(self.stem(x))
            return self.fc(F.relu(self.c2(self.act(self.c1(s))) + s).mean((2, 3)))

    root = tmp_path_factory.mktemp("tinyres")
    torch.manual_seed(0)
    pt2, npz, pcz = root / "tiny.pt2", root / "tiny.npz", root / "tiny.pcz"
    torch.export.save(torch.export.export(TinyRes().eval(), (torch.randn(2, 1, 6, 6),)), str(pt2))
    rng = np.random.default_rng(0)
    np.savez(npz, x=rng.standard_normal((40, 1, 6, 6)).astype(np.float32), y=rng.integers(0, 3, 40),
             x_test=rng.standard_normal((6, 1, 6, 6)).astype(np.float32), y_test=rng.integers(0, 3, 6))
    r = run_cli("compress", pt2, "-o", pcz, "--format", "bf16")
    assert r.returncode == 0, r.stderr
    return root, pt2, npz, pcz


@pytest.fixture(scope="module")
def engine(tiny):
    root, _, _, pcz = tiny
    r = run_cli("rtl", pcz, "-o", root / "rtl")
    assert r.returncode == 0, r.stderr
    return root / "rtl", r.stdout


def _one_line_error(r) -> str:
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, r.stderr
    return err


def test_rtl_writes_the_residual_gap_engine_lint_clean(engine):
    from test_rtl_lint import lint

    from pycompress.hw.rtl.render import ENGINE_MANIFEST, ENGINE_TOP, FILE_LIST

    folder, out = engine
    rows = [line.split("|")[1:3] for line in out.splitlines() if line.startswith("| ") and "stage" not in line]
    kinds = {engine_kind.strip() for _, engine_kind in rows}
    assert {"fork", "fifo", "act", "add + relu", "gap", "fc"} <= kinds, kinds
    assert {(folder / n).is_file() for n in (f"{ENGINE_TOP}.sv", FILE_LIST, ENGINE_MANIFEST, "model.pcz")} == {True}
    r = lint(["-f", FILE_LIST, "--top-module", ENGINE_TOP], cwd=folder)
    assert r.returncode == 0, r.stderr


def test_rtl_refuses_an_engine_over_the_board_in_one_line(tiny, tmp_path):
    _, _, _, pcz = tiny
    r = run_cli("rtl", pcz, "-o", tmp_path / "over", "--parallel", "c1=144")
    assert "does not fit zedboard" in _one_line_error(r) and "--allow-over-budget" in r.stderr
    assert not (tmp_path / "over").exists()
    r = run_cli("rtl", pcz, "-o", tmp_path / "over", "--parallel", "c1=144", "--allow-over-budget")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "over" / "pycompress_engine.sv").is_file()


def test_rtlsim_refuses_in_one_line(tiny, engine, tmp_path):
    root, pt2, npz, _ = tiny
    folder, _ = engine
    assert "not an engine folder" in _one_line_error(run_cli("rtlsim", root, "--data", npz))
    assert "--images" in _one_line_error(run_cli("rtlsim", folder, "--data", npz, "--images", "0"))
    edited = tmp_path / "edited"
    edited.mkdir()
    for f in folder.iterdir():
        (edited / f.name).write_bytes(f.read_bytes())
    top = edited / "pycompress_engine.sv"
    top.write_text(top.read_text() + "// edited\n")
    assert "was changed since" in _one_line_error(run_cli("rtlsim", edited, "--data", npz, "--model", pt2))


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.long
def test_rtlsim_bit_exact_with_agreement_and_cycles(tiny, engine):
    """rtlsim from the shell: every output word equal to the reference's, top-1 against the user's own .pt2
    program (random weights: printed, not asserted), the measured cycles near the plan's estimate."""
    _, pt2, npz, _ = tiny
    folder, _ = engine
    before = {f.name: f.read_bytes() for f in folder.iterdir()}
    r = run_cli("rtlsim", folder, "--data", npz, "--model", pt2, "--json")
    assert r.returncode == 0, r.stderr
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == before  # run files go to sim_build/rtlsim/
    res = json.loads(r.stdout)
    print(res)
    assert res["images"] == 6 and res["outputs_bit_exact"] and res["mismatched_words"] == 0
    assert 0 <= res["top1_agreement_pct"] <= 100 and "tiny.pt2" in res["compared_with"]
    assert abs(res["latency_cycles"] - res["estimated_latency"]) <= 0.05 * res["estimated_latency"]
    assert res["interval_cycles"] > 0


@pytest.fixture(scope="module")
def overflow(tmp_path_factory):
    """(.pt2, .npz) of conv -> LeakyReLU -> linear whose first conv channel has weights of +-3e38: image 0's sums
    overflow both ways (inf - inf = NaN), images 1 and 2 (inputs scaled by 1e-3) stay finite."""
    import torch
    from torch import nn

    class Overflow(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c, self.act, self.fc = nn.Conv2d(1, 2, 3), nn.LeakyReLU(0.1), nn.Linear(2 * 4 * 4, 3)

        def forward(self, x):
            return self.fc(self.act(self.c(x)).flatten(1))

    root = tmp_path_factory.mktemp("overflow")
    torch.manual_seed(0)
    m = Overflow().eval()
    with torch.no_grad():
        m.c.weight[0] = torch.tensor([3e38, -3e38] * 4 + [3e38]).reshape(1, 3, 3)
    pt2, npz = root / "overflow.pt2", root / "overflow.npz"
    torch.export.save(torch.export.export(m, (torch.randn(2, 1, 6, 6),)), str(pt2))
    rng = np.random.default_rng(0)
    x_test = (4 * rng.standard_normal((3, 1, 6, 6))).astype(np.float32)
    x_test[1:] *= np.float32(1e-3)
    np.savez(npz, x=rng.standard_normal((40, 1, 6, 6)).astype(np.float32), y=rng.integers(0, 3, 40),
             x_test=x_test, y_test=rng.integers(0, 3, 3))
    return pt2, npz


def test_reference_makes_the_float_units_nans():
    """canonical_nan: the reference's multiply and add give the RTL float units' bits (fpref.FpUnits, which the
    units are tested against), NaN results included; numpy's own NaNs keep sign and payload."""
    from pycompress.hw.fpref import FpUnits
    from pycompress.hw.hls.reference import _Ops

    bits = np.array([0x7FC00123, 0xFFC00005, 0x7F800000, 0xFF800000, 0x00000000, 0x80000000, 0x3F800000,
                     0x7F7FFFFF, 0xFF7FFFFF, 0x00000001], np.uint32)
    a, b = np.repeat(bits, bits.size).view(np.float32), np.tile(bits, bits.size).view(np.float32)
    with np.errstate(all="ignore"):
        for sub in (True, False):
            ops, units = _Ops(sub, canonical_nan=True), FpUnits(subnormals=sub)
            assert np.array_equal(ops.mul(a, b).view(np.uint32), units.mul(a, b))
            assert np.array_equal(ops.add(a, b).view(np.uint32), units.add(a, b))
        assert 0xFFC00000 in _Ops(True).add(a, b).view(np.uint32)  # inf - inf in numpy: not the units' NaN


@pytest.mark.sim
def test_rtlsim_and_csim_bit_exact_where_sums_overflow_to_nan(overflow, tmp_path):
    """An engine whose sums overflow to inf - inf: its float units make 0x7fc00000 where numpy makes
    0xffc00000, and rtlsim compares with the engine's NaNs (the payload-keeping reference would report all
    three of image 0's outputs as mismatches); the finite images are compared bit for bit as before. Both
    simulators count the NaN outputs, whose argmax says little."""
    from pycompress.cli.commands.rtlsim import _engine
    from pycompress.hw.hls.reference import reference_forward

    pt2, npz = overflow
    pcz, folder = tmp_path / "overflow.pcz", tmp_path / "rtl"
    for args in (("compress", pt2, "-o", pcz, "--format", "bf16"), ("rtl", pcz, "-o", folder)):
        r = run_cli(*args)
        assert r.returncode == 0, r.stderr
    _, km, _ = _engine(folder)
    x = np.load(npz)["x_test"]
    engine = reference_forward(km.graph, km.params, x, canonical_nan=True).view(np.uint32)
    numpy_nans = reference_forward(km.graph, km.params, x).view(np.uint32)
    assert (engine[0] == 0x7FC00000).all() and (numpy_nans[0] != engine[0]).all()
    assert np.isfinite(engine[1:].view(np.float32)).all() and np.array_equal(engine[1:], numpy_nans[1:])
    r = run_cli("rtlsim", folder, "--data", npz, "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["images"] == 3 and res["outputs_bit_exact"] and res["mismatched_words"] == 0, res
    assert res["nonfinite_outputs"] == 3 and "RuntimeWarning" not in r.stderr  # image 0's, said beside the agreement
    # the HLS kernel in C simulation: g++ keeps numpy's NaNs, compared with the default reference
    for args in (("generate", pcz, "-o", tmp_path / "hls"), ("csim", tmp_path / "hls", "--data", npz, "--json")):
        r = run_cli(*args)
        assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["outputs_bit_exact"] and res["weights_bit_exact"] and res["nonfinite_outputs"] == 3, res
