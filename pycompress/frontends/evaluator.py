"""Model-agnostic top-1 evaluation: a module builder plus a dataset (`Task`).

Generalises the LeNet defaults (`study.lenet_eval` / `lenet_test`, `sensitivity.LenetEvaluator`):
every lossy and clustering command selects on the validation part and reports the test part
beside, whatever the model. `lenet_task()` is exactly the old default (built-in LeNet-5 on the
mnist5k split).
"""
from __future__ import annotations

import gc
import sys
from dataclasses import dataclass
from typing import Callable, Mapping

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .datasets import Dataset, load_data
from pycompress.core.errors import PycompressError
from . import Builder, LoadedModel, require_architecture

LARGE_MODEL = 1_000_000  # weights; a model this large is garbage-collected right after each evaluation


@dataclass(frozen=True)
class Training:
    """What retraining (ESART) needs from a model's data: a seeded loader over the training part, the
    validation evaluator that selects, an optimizer factory, and the test evaluator that only reports."""
    loader: DataLoader
    evaluate: Callable[[torch.nn.Module], float]  # validation accuracy: selects
    optimizer_factory: Callable
    report: Callable[[torch.nn.Module], float]  # test accuracy: reported only


@dataclass(frozen=True)
class Task:
    """What accuracy means for one model: `build(state_dict)` gives the module, `data` its three parts."""

    build: Builder
    data: Dataset

    def correct(self, model: nn.Module, part: str) -> int:
        from .lenet import predict

        x, y = self.data.part(part)
        return int((predict(model, x) == y).sum())

    def accuracy(self, state_dict: Mapping[str, torch.Tensor], part: str = "validation") -> float:
        """Top-1 accuracy (%) of the model with these weights on one part."""
        model = self.build(state_dict)
        try:
            return self.module_accuracy(model, part)
        finally:  # a rebuilt fx module sits in reference cycles: free its weights now, not at some later gc
            big = sum(p.numel() for p in model.parameters()) >= LARGE_MODEL
            del model
            if big:
                gc.collect()

    def module_accuracy(self, model: nn.Module, part: str) -> float:
        return 100.0 * self.correct(model, part) / len(self.data.part(part)[1])

    def eval_fn(self, state_dict: Mapping[str, torch.Tensor]) -> float:
        """Validation accuracy: what every lossy run stops on and selects by."""
        return self.accuracy(state_dict, "validation")

    def test_fn(self, state_dict: Mapping[str, torch.Tensor]) -> float:
        """Test accuracy: reported beside, never used to select."""
        return self.accuracy(state_dict, "test")

    def training(self, seed: int = 0, batch: int = 64, lr: float = 1e-4, limit: int | None = None):
        """Seeded loader over the training part, validation/test evaluators, Adam factory (for ESART)."""
        x, y = self.data.part("train")
        n = len(y) if limit is None else min(limit, len(y))
        loader = DataLoader(TensorDataset(x[:n], y[:n]), batch_size=batch, shuffle=True,
                            generator=torch.Generator().manual_seed(seed))
        return Training(loader, lambda m: self.module_accuracy(m, "validation"),
                             lambda params: torch.optim.Adam(params, lr=lr), lambda m: self.module_accuracy(m, "test"))


def lenet_task() -> Task:
    """The default: built-in LeNet-5 on the mnist5k split."""
    from .lenet import load_lenet

    return Task(lambda sd: load_lenet(dict(sd)), load_data("mnist5k"))


def task_for(model: LoadedModel, data: str | None, command: str) -> Task:
    """The model's builder with the named data, checked to fit: one line naming both shapes otherwise."""
    build = require_architecture(model, command)
    if data is None:
        if not model.lenet:
            raise PycompressError(f"{model.path}: `{command}` needs --data (an .npz with x and y, or mnist5k or digits) "
                                  "for a model other than the built-in LeNet-5")
        data = "mnist5k"
    ds = load_data(data, item_shape=tuple(model.input_shape) if model.input_shape is not None else None)
    if model.input_shape is not None and ds.sample_shape != tuple(model.input_shape):
        raise PycompressError(f"{data}: x has items of shape {ds.sample_shape} (array shape {tuple(ds.x_train.shape)}), "
                              f"but the model takes {tuple(model.input_shape)} (batch shape (N, "
                              f"{', '.join(map(str, model.input_shape))}))")
    with torch.no_grad():
        out = build(model.state_dict)(ds.x_train[:1])
    classes = int(out.shape[-1]) if out.dim() == 2 else 0
    top = max(int(ds.part(p)[1].max()) for p in ("train", "validation", "test"))
    if out.dim() != 2 or top >= classes:
        raise PycompressError(f"{data}: labels go up to {top}, but the model's output has shape {tuple(out.shape[1:])} "
                              "(expected one score per class)")
    if ds.note:
        print(f"pycompress: {ds.note}", file=sys.stderr, flush=True)
    return Task(build, ds)
