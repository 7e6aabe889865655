"""Per-layer sensitivity to weight sharing: accuracy vs k for one layer at a time, others intact.

Also the pieces the exploration reuses: `LayerCache` (each layer's encoded variants per
(layer, choice), built once) and `ModelEvaluator` (correct answers on one part of a
model's data -- validation to select, test to report -- with some layers replaced).
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from typing import Callable, Mapping

import torch

from .cluster import EXPSHARE, K_MAX, LayerClusterer
from .defaults import DEFAULT_KS  # re-exported: explore and the CLI read it
from pycompress.schemes.expshare import encode_bits
from pycompress.compress import cast_state_dict, is_encoded
from pycompress.core.errors import PycompressError
from pycompress.core.fileio import atomic_directory
from pycompress.core.formats import get_format, tensor_bits

Progress = Callable[[str], None] | None


class LayerCache:
    """Encoded tensors per (layer, choice) where choice is k or "expshare", with their decoded
    float32 weights: one DP per layer serves every k, so exploration trials are cheap."""

    def __init__(self, state_dict: Mapping[str, torch.Tensor], codebook_format: str = "fp32",
                 base_format: str = "fp32", method: str = "auto", progress: Progress = None,
                 k_max: int = K_MAX) -> None:
        self.state_dict = dict(state_dict)
        self.codebook_format = codebook_format
        self.base_format = get_format(base_format).name
        self.method = method
        self.k_max = k_max  # largest k asked for: the DP table stops there
        self.progress = progress
        self.weights = tuple(name for name, t in self.state_dict.items() if is_encoded(t, False))
        if not self.weights:
            raise PycompressError("the model has no weight tensors (floating, two or more dimensions) to share")
        self._clusterers: dict[str, LayerClusterer] = {}
        self._encoded: dict[tuple[str, int | str], object] = {}
        self._decoded: dict[tuple[str, int | str], torch.Tensor] = {}

    def numel(self, name: str) -> int:
        return self.state_dict[name].numel()

    def encoded(self, name: str, choice: int | str):
        key = (name, choice)
        if key not in self._encoded:
            if choice == EXPSHARE:
                t = cast_state_dict({name: self.state_dict[name]}, self.base_format)[name]
                self._encoded[key] = encode_bits(tensor_bits(t), self.base_format)
            else:
                if name not in self._clusterers:
                    if self.progress:
                        self.progress(f"clustering {name} ({self.numel(name):,} weights, k up to {self.k_max})")
                    self._clusterers[name] = LayerClusterer(self.state_dict[name], self.method, self.k_max)
                self._encoded[key] = self._clusterers[name].clustered(int(choice), self.codebook_format)
        return self._encoded[key]

    def decoded(self, name: str, choice: int | str) -> torch.Tensor:
        key = (name, choice)
        if key not in self._decoded:
            self._decoded[key] = self.encoded(name, choice).decode().to(torch.float32)
        return self._decoded[key]

    def bits(self, name: str, choice: int | str) -> int:
        return int(self.encoded(name, choice).stored_bits())


class ModelEvaluator:
    """Correct answers of a model on one part of its data ("validation" selects, "test" only
    reports), some weights replaced. Without a `task`: the built-in LeNet-5 on mnist5k."""

    def __init__(self, state_dict: Mapping[str, torch.Tensor], part: str = "validation", task=None) -> None:
        from pycompress.frontends.evaluator import lenet_task

        self.task = task or lenet_task()
        self.model = self.task.build(dict(state_dict))
        self.base = {k: v.clone() for k, v in self.model.state_dict().items()}
        self.part = part
        self.x, self.y = self.task.data.part(part)
        self.n = int(self.y.numel())
        self.baseline_correct = self.correct({})

    def correct(self, replaced: Mapping[str, torch.Tensor]) -> int:
        from pycompress.frontends.lenet import predict

        self.model.load_state_dict({**self.base, **{k: v.to(self.base[k].dtype) for k, v in replaced.items()}})
        return int((predict(self.model, self.x) == self.y).sum())

    def accuracy(self, correct: int) -> float:
        return 100.0 * correct / self.n


LenetEvaluator = ModelEvaluator  # the LeNet default, kept under its old name


@dataclass(frozen=True)
class LayerCurve:
    name: str
    n: int
    ks: tuple[int, ...]  # requested k
    codebook_sizes: tuple[int, ...]  # actual codebook sizes (fewer if fewer distinct values)
    accuracy: tuple[float, ...]
    bits: tuple[int, ...]


@dataclass(frozen=True)
class Sensitivity:
    baseline_accuracy: float
    images: int
    codebook_format: str
    curves: tuple[LayerCurve, ...]
    data: str = "validation"  # the part of the split the accuracies are measured on

    def curve(self, name: str) -> LayerCurve:
        return next(c for c in self.curves if c.name == name)

    def to_dict(self) -> dict:
        return {"baseline_accuracy": self.baseline_accuracy, "images": self.images, "data": self.data,
                "codebook_format": self.codebook_format,
                "layers": [{"name": c.name, "n": c.n, "k": list(c.ks), "codebook_size": list(c.codebook_sizes),
                            "accuracy": list(c.accuracy), "bits": list(c.bits)} for c in self.curves]}

    @classmethod
    def from_dict(cls, d: dict) -> "Sensitivity":
        curves = tuple(LayerCurve(c["name"], c["n"], tuple(c["k"]), tuple(c["codebook_size"]), tuple(c["accuracy"]),
                                  tuple(c["bits"])) for c in d["layers"])
        return cls(d["baseline_accuracy"], d["images"], d["codebook_format"], curves, d.get("data", "validation"))


def run_sensitivity(cache: LayerCache, evaluator: ModelEvaluator, ks: tuple[int, ...] = DEFAULT_KS,
                    progress: Progress = None) -> Sensitivity:
    """Accuracy with one layer clustered into k values, every other layer intact."""
    curves = []
    for li, name in enumerate(cache.weights):
        accs, bits, sizes = [], [], []
        for k in ks:
            accs.append(evaluator.accuracy(evaluator.correct({name: cache.decoded(name, k)})))
            bits.append(cache.bits(name, k))
            sizes.append(cache.encoded(name, k).k)
        curves.append(LayerCurve(name, cache.numel(name), tuple(ks), tuple(sizes), tuple(accs), tuple(bits)))
        if progress:
            progress(f"sensitivity {li + 1}/{len(cache.weights)} {name}: "
                     + " ".join(f"k={k}:{a:.1f}" for k, a in zip(ks, accs)))
    return Sensitivity(evaluator.accuracy(evaluator.baseline_correct), evaluator.n, cache.codebook_format, tuple(curves),
                       evaluator.part)


def png_bytes(fig) -> bytes:
    """Deterministic PNG (no software/date metadata)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def plot_sensitivity(sens: Sensitivity) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for c in sens.curves:
        ax.plot(c.ks, c.accuracy, marker="o", label=f"{c.name} ({c.n:,} weights)")
    ax.axhline(sens.baseline_accuracy, color="k", ls="--", lw=1, label=f"original {sens.baseline_accuracy:.1f}%")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sens.curves[0].ks, [str(k) for k in sens.curves[0].ks])
    ax.set_xlabel("shared values k in the layer (others intact)")
    ax.set_ylabel(f"top-1 accuracy, % of {sens.images:,} {sens.data} digits")
    ax.set_title(f"Per-layer sensitivity to weight sharing ({sens.codebook_format} codebook)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return png_bytes(fig)


def sensitivity_markdown(sens: Sensitivity) -> str:
    from pycompress.core.report import table

    ks = sens.curves[0].ks
    rows = [[c.name, c.n, *[f"{a:.1f}" for a in c.accuracy]] for c in sens.curves]
    return (f"Top-1 accuracy (%) on {sens.images:,} {sens.data} digits with one layer clustered into k values, "
            f"the others intact (original: {sens.baseline_accuracy:.1f}%, codebook {sens.codebook_format}).\n\n"
            + table(["layer", "N", *[f"k={k}" for k in ks]], rows, markdown=True) + "\n")


def sensitivity_files(sens: Sensitivity) -> dict[str, bytes]:
    return {"sensitivity.json": (json.dumps(sens.to_dict(), indent=2) + "\n").encode(),
            "sensitivity.png": plot_sensitivity(sens),
            "sensitivity.md": ("# Per-layer sensitivity\n\n" + sensitivity_markdown(sens)
                               + "\n![sensitivity](sensitivity.png)\n").encode()}


def write_dir_atomic(path: str | os.PathLike, files: Mapping[str, bytes]) -> None:
    """Build the folder beside `path` and rename it into place: never a half-written report. Whether
    `path` may be replaced is the output policy's decision (`fileio.check_output`), made before any work."""
    with atomic_directory(path) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
