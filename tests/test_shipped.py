"""The shipped default models and deterministic training (issue: figures that reproduce on any machine)."""
from __future__ import annotations

import json

import pytest
import torch

from pycompress.core.errors import PycompressError
from pycompress.frontends.lenet import (PARTS, TEST_SIZE, TRAIN_SIZE, VALIDATION_SIZE, accuracy, load_lenet,
    mnist_split, train)
from pycompress.frontends.shipped import (DIGITS_WEIGHTS, LENET_CARD, LENET_WEIGHTS, default_digits_cnn,
    default_lenet, load_shipped, read_card, weights_digest)

from conftest import run_cli


def test_shipped_lenet_matches_its_card():
    card = read_card(LENET_CARD)
    sd = default_lenet()
    assert weights_digest(sd) == card["weights_sha256"]
    assert (card["data"]["train"], card["data"]["validation"], card["data"]["test"]) == (TRAIN_SIZE, VALIDATION_SIZE, TEST_SIZE)
    model = load_lenet(sd)
    assert accuracy(model, part="test") == card["accuracy_pct"]["test"]
    assert accuracy(model, part="validation") == card["accuracy_pct"]["validation"]
    assert card["command"].startswith("pycompress train")


def test_shipped_digits_cnn_loads():
    sd = default_digits_cnn()
    assert weights_digest(sd) == read_card(DIGITS_WEIGHTS.with_suffix(".json"))["weights_sha256"]


def test_a_modified_shipped_model_is_refused(tmp_path):
    weights = tmp_path / "m.safetensors"
    weights.write_bytes(LENET_WEIGHTS.read_bytes())
    card = read_card(LENET_CARD)
    (tmp_path / "m.json").write_text(json.dumps({**card, "weights_sha256": "0" * 64}))
    with pytest.raises(PycompressError, match="does not match the digest"):
        load_shipped(weights)


def test_split_parts_are_disjoint_and_cover_the_digits():
    split = mnist_split()
    sizes = [len(split.part(p)[1]) for p in PARTS]
    assert sizes == [TRAIN_SIZE, VALIDATION_SIZE, TEST_SIZE]
    rows = torch.cat([split.part(p)[0].reshape(len(split.part(p)[0]), -1) for p in PARTS])
    assert len(torch.unique(rows, dim=0)) >= len(rows) - 50  # MNIST has a few exact duplicates, no shared slices
    with pytest.raises(ValueError):
        split.part("everything")


@pytest.mark.slow
def test_training_twice_gives_bit_identical_weights():
    """One thread and deterministic algorithms: the same arguments give the same bits on one machine."""
    a = weights_digest(train(epochs=2, progress=False).state_dict())
    b = weights_digest(train(epochs=2, progress=False).state_dict())
    assert a == b
    assert not torch.are_deterministic_algorithms_enabled()  # global state restored after training


def test_train_rejects_bad_arguments(tmp_path):
    r = run_cli("train", "--epochs", "-1", "-o", tmp_path / "x.pt")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "epochs" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_readme_demo_table_is_what_the_demo_computes(lenet_state_dict):
    """`make demo` prints these figures; the README's table must hold the same numbers."""
    from pathlib import Path

    from pycompress.compress import CompressConfig, compress_state_dict, compressed_stats

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    acc = accuracy(load_lenet(lenet_state_dict))
    for fmt in ("fp32", "bf16", "fp16"):
        st = compressed_stats(compress_state_dict(lenet_state_dict, CompressConfig(format=fmt)))
        row = (f"| {fmt.upper()} | {st.original_bits:,} | {st.compressed_bits:,} | {st.savings_pct:.3f}% | "
               f"{acc:.3f}% / {acc:.3f}% |")
        assert row in readme, row
