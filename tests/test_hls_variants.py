"""Every kernel `pycompress generate` writes passes the rule checker, and the cycle model the allocator uses
agrees with what the checker finds in the C++; each seeded violation of a generated kernel fails with one rule.
Rendering and checking only (no g++): seconds per variant."""
from __future__ import annotations

from pathlib import Path

import pytest

from pycompress.compress import CompressConfig, compress, compress_state_dict
from pycompress.core import container
from pycompress.hw.hls.check.rules import check_project, check_source
from pycompress.hw.hls.context import template_values
from pycompress.hw.plan import hls_kernel_plan, kernel_model
from pycompress.hw.plan.estimate import layer_schedules
from pycompress.hw.plan.model import Lanes
from pycompress.hw.hls.writer import generate, render_firmware

REPO = Path(__file__).resolve().parent.parent
ESART = REPO / "reports" / "lenet" / "models" / "esart-halfpoint.pcz"

# (model, kernel, weights, dataflow)
VARIANTS = {
    "bf16-bram-seq": ("bf16", "compressed", "bram", False), "bf16-bram-df": ("bf16", "compressed", "bram", True),
    "bf16-ddr-seq": ("bf16", "compressed", "ddr", False), "bf16-ddr-df": ("bf16", "compressed", "ddr", True),
    "bf16-raw": ("bf16", "raw", "bram", True), "bf16-offset": ("bf16", "offset", "bram", True),
    "bf16-float": ("bf16", "float", "bram", True), "fp32": ("fp32", "compressed", "bram", True),
    "fp16": ("fp16", "compressed", "bram", True), "fp16-offset-ddr": ("fp16", "offset", "ddr", True),
    "cluster": ("cluster", "compressed", "bram", True), "huffman": ("huffman", "compressed", "bram", True),
    "esart": ("esart", "compressed", "ddr", True), "digits": ("digits", "compressed", "bram", True),
    "resnet": ("resnet", "compressed", "bram", False),
}


@pytest.fixture(scope="module")
def models(lenet_state_dict):
    cache = {}

    def get(name):
        if name not in cache:
            if name in ("bf16", "fp32", "fp16"):
                cache[name] = compress_state_dict(lenet_state_dict, CompressConfig(name))
            elif name == "huffman":
                cache[name] = compress_state_dict(lenet_state_dict, CompressConfig("bf16", scheme="huffman"))
            elif name == "cluster":
                from tests.test_hls_csim import clustered_lenet
                cache[name] = clustered_lenet(lenet_state_dict)
            elif name == "esart":
                cache[name] = container.load(ESART)
            elif name == "digits":
                from tests.test_hls_csim import digits_model
                cache[name] = compress(digits_model(), CompressConfig("bf16"))
            else:
                from tests.test_hls_resnet import tiny_resnet
                cache[name] = compress(tiny_resnet(), CompressConfig("bf16"))
        return cache[name]

    return get


def write(files: dict, out: Path) -> Path:
    for rel, text in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    return out


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_passes_the_checker_and_the_model_agrees(models, variant, tmp_path):
    model, kernel, weights, dataflow = VARIANTS[variant]
    km = kernel_model(models(model))
    values = template_values(km, kernel=kernel, weights=weights, dataflow=dataflow)
    write(render_firmware(values), tmp_path)
    report = check_source(tmp_path / f"firmware/{values['top']}.cpp", values["top"])
    assert report.ok, report.summary()
    # the II and depth the allocator's model puts in each pragma are the ones the checker derives from the code
    lanes = {l["fn"]: Lanes(l["lanes"], l["pq"], l["fadd_fabric"]) for l in values["layers"] if "lanes" in l}
    nests = layer_schedules(hls_kernel_plan(km, kernel, dataflow), lanes, ddr=weights == "ddr")
    by_fn = {l.function: l for l in report.loops}
    for fn, n in nests.items():
        got = by_fn[fn]
        assert (got.ii, got.depth, got.iterations) == (n.ii, n.depth, n.iterations), (fn, got, n)
    macs = [l for l in values["layers"] if l["op"] in ("conv2d", "linear")]
    for l in macs:  # every accumulator's DEPENDENCE distance is the true one
        assert by_fn[l["fn"]].distances == {l["dst"]: l["distance"]}
    if dataflow:
        assert report.modules[values["top"]].dataflow and len(report.modules[values["top"]].processes) >= len(macs)


@pytest.fixture(scope="module")
def generated(models, tmp_path_factory):
    """The default LeNet BF16 kernel as dataflow, and with DDR weights, written once."""
    out = {}
    lanes = {"conv1": "6x2", "conv2": "8x2", "fc1": 4, "fc2": 2, "fc3": 1}  # fixed: the seeds below name its code
    for name, weights in (("df", "bram"), ("ddr", "ddr")):
        out[name] = generate(models("bf16"), tmp_path_factory.mktemp("seed") / name, weights=weights, dataflow=True,
                             parallel=lanes, progress=False)
    return out


SEEDS = [  # (kernel, file, text, replacement, rule)
    ("df", "firmware/pycompress_top.cpp", "dependent=true", "dependent=false", "a"),
    ("df", "firmware/pycompress_top.cpp", "direction=RAW distance=30 ", "direction=RAW distance=31 ", "a"),
    ("df", "firmware/pycompress_top.cpp", "#pragma HLS ARRAY_PARTITION variable=a1 type=complete dim=1\n", "", "b"),
    ("df", "firmware/pycompress_top.cpp", "out[p * 2 + q][oa] = (r == 24", "out[p * 2 + q][oa] = (r / 5 == 4 && r == 24", "c"),
    ("ddr", "firmware/pycompress_top.cpp", "l3_conv2_ddr(a2, a3, weights_conv2_weight)", "l3_conv2_ddr(a2, a3, weights_conv1_weight)", "d"),
    ("df", "firmware/pycompress_top.cpp", "    l3_conv2(a2, a3);", "    l3_conv2(a1, a3);", "e"),
]


@pytest.mark.parametrize("seed", range(len(SEEDS)), ids=[f"rule-{s[4]}-{i}" for i, s in enumerate(SEEDS)])
def test_a_seeded_violation_fails_with_its_rule(generated, seed, tmp_path):
    kind, rel, text, replacement, rule = SEEDS[seed]
    project = generated[kind]
    assert check_project(project).ok
    files = {str(p.relative_to(project)): p.read_text() for p in (project / "firmware").iterdir()}
    files["project.json"] = (project / "project.json").read_text()
    source = files[rel]
    assert source.count(text) >= 1, text
    files[rel] = source.replace(text, replacement, 1)
    report = check_project(write(files, tmp_path))
    assert report.rules_broken() == [rule], report.summary()
