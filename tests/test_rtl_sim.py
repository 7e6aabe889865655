"""The RTL weight streamer and decoders under Verilator + cocotb, bit for bit against the Python codec.

Each test writes a layer's `$readmemh` images (pycompress.hw.rtl.images), runs the
cocotb testbench sim/test_weight_streamer.py in a cached simulator build, and
reads the JSON report it leaves: weights checked and the first mismatch.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sim"))
import harness  # noqa: E402
import models  # noqa: E402

from pycompress.hw.layout import layer_tables  # noqa: E402
from pycompress.hw.rtl.images import streamer_params  # noqa: E402

pytestmark = pytest.mark.sim
ALL_TESTS = ("stream_layer", "throughput", "reset_mid_stream")


def run_layer(case_dir: Path, cm, testcases=("stream_layer",), layer: int = 0, **options) -> dict[str, dict]:
    t = layer_tables(cm)[layer]
    harness.write_case(case_dir, t, cm.tensors[t.name])
    return harness.run_case(case_dir, t, testcases, **options)


def assert_passed(reports: dict[str, dict]) -> None:
    for test, rep in reports.items():
        assert rep.get("passed"), f"{test}: {rep}"
        assert rep["checked"] == rep["n"] > 0


@pytest.mark.parametrize("fmt", models.EXPSHARE_FORMATS)
def test_lenet_layer_streams_bit_exact(fmt, lenet_state_dict, tmp_path):
    """conv2 (2,400 weights): random backpressure and stalls, ready held high, reset mid-stream."""
    cm = models.lenet_expshare(lenet_state_dict, fmt)
    reports = run_layer(tmp_path, cm, ALL_TESTS, layer=1, repeats=2)
    assert_passed(reports)
    assert reports["throughput"]["cycles"] == 2400 + reports["throughput"]["expected_latency"]
    assert reports["throughput"]["bubbles"] == 0


def test_bf16_decoder_exhaustive(tmp_path):
    """All 65,536 (sign, index, mantissa) combinations of a BF16 layer whose ROM holds all 256 exponents."""
    st = models.all_patterns("bf16")
    assert st.index_bits == 8 and st.distinct_exponents == 256
    reports = run_layer(tmp_path, models.single_layer(st), ("throughput", "stream_layer"))
    assert_passed(reports)
    assert reports["throughput"]["checked"] == 1 << 16


def test_fp16_every_pattern(tmp_path):
    """Every FP16 bit pattern: all subnormals (normalised when widened), +-inf, every NaN payload."""
    reports = run_layer(tmp_path, models.single_layer(models.all_patterns("fp16")), ("throughput",))
    assert_passed(reports)


@pytest.mark.parametrize("fmt", models.EXPSHARE_FORMATS)
def test_special_values(fmt, tmp_path):
    """+-0, subnormals, +-inf, quiet and signalling NaNs with payloads, among random patterns."""
    reports = run_layer(tmp_path, models.single_layer(models.special_values(fmt)), ("stream_layer",))
    assert_passed(reports)


def test_one_weight_layer(tmp_path):
    st = models.one_weight("bf16")
    assert st.numel == 1 and st.distinct_exponents == 1
    reports = run_layer(tmp_path, models.single_layer(st), ALL_TESTS)
    assert_passed(reports)
    assert reports["throughput"]["cycles"] == 1 + reports["throughput"]["expected_latency"]


def test_single_distinct_exponent(tmp_path):
    st = models.single_exponent("fp16", n=1000)
    assert st.distinct_exponents == 1 and st.index_bits == 1
    assert_passed(run_layer(tmp_path, models.single_layer(st), ("stream_layer", "throughput")))


def test_clustered_layer(lenet_state_dict, tmp_path):
    """A 16-value codebook layer through codebook_decoder (same interface and latency)."""
    cm = models.lenet_clustered(lenet_state_dict, "fp32")
    assert cm.tensors["conv2.weight"].k == 16
    reports = run_layer(tmp_path, cm, ALL_TESTS, layer=1)
    assert_passed(reports)
    assert reports["stream_layer"]["scheme"] == "cluster"


def test_flipped_bit_in_an_image_is_caught(lenet_state_dict, tmp_path):
    """One mantissa bit flipped in the memory image: the comparison fails and names that weight."""
    cm = models.lenet_expshare(lenet_state_dict, "bf16")
    t = layer_tables(cm)[0]
    p = streamer_params(t)
    harness.write_case(tmp_path, t, cm.tensors[t.name])
    image = tmp_path / p.mantissa_file
    lines = image.read_text().splitlines()
    k = 77  # weight 77 sits on line 78, after the header comment
    lines[k + 1] = format(int(lines[k + 1], 16) ^ 0x04, "02x")
    image.write_text("\n".join(lines) + "\n")
    rep = harness.run_case(tmp_path, t, "stream_layer")["stream_layer"]
    assert not rep["passed"]
    assert rep["mismatches"] == 1 and rep["first_mismatch"]["index"] == k
    assert int(rep["first_mismatch"]["got_weight"], 16) ^ int(rep["first_mismatch"]["expected_weight"], 16) == 0x04


def test_run_model_and_summary_on_cli_images(lenet_state_dict, tmp_path):
    """The `make sim` path: `pycompress rtl` images of a .pcz streamed by sim/run_model.py, summarised."""
    import run_model
    import summary
    from conftest import run_cli
    from pycompress.core.container import CompressedModel, save

    full = models.lenet_expshare(lenet_state_dict, "fp16")
    cm = CompressedModel("fp16", ("conv1.weight",), {"conv1.weight": full.tensors["conv1.weight"]}, {})
    save(cm, tmp_path / "m.pcz")
    assert run_cli("rtl", tmp_path / "m.pcz", "-o", tmp_path / "rtl").returncode == 0
    reports = run_model.stream_model(cm, tmp_path / "rtl", tmp_path / "runs", ("stream_layer",), progress=False)
    assert [r["passed"] for r in reports] == [True] and reports[0]["checked"] == 150
    lines, ok = summary.summarise(summary.collect([tmp_path / "runs"]))
    assert ok and "expshare/fp16" in lines[1] and "150" in lines[1]
