"""Three small networks of the kinds users bring, trained and exported as `.pt2` (issue 24's examples):

- `colour_gap.pt2`: a colour CNN (3x16x16 input) with batch norm, a stride-2 conv and global average
  pooling by `x.mean((2, 3))`, trained on `colour_digits.npz` (written too: scikit-learn's 8x8 digits,
  upscaled 2x, each drawn in a seeded random colour on a seeded random dark background);
- `tanh_digits.pt2`: the classic LeNet shape with Tanh and average pooling, on the built-in `digits`;
- `gelu_digits.pt2`: GELU activations and a final Softmax, on `digits` (also as `gelu_digits.onnx`, torch's
  default ONNX exporter).

    .venv/bin/python examples/your_model/train_export.py -o build/your-model

Each gets a card (`<name>.json`: seed, epochs, test accuracy, SHA-256). One thread, deterministic, seed 0,
Adam; about 20 s in all on one core.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pycompress.frontends.digits_cnn import digits_split
from pycompress.frontends.lenet import torch_threads


class ColourGAP(nn.Module):
    """conv3x3(3->16)+BN+ReLU, conv3x3 stride 2 (16->32)+BN+ReLU, conv3x3(32->32)+BN+ReLU, mean over (H, W), Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.c2, self.b2 = nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32)
        self.c3, self.b3 = nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.b1(self.c1(x)))
        x = F.relu(self.b2(self.c2(x)))
        x = F.relu(self.b3(self.c3(x)))
        return self.fc(x.mean((2, 3)))


class TanhDigits(nn.Module):
    """LeNet's shape on 8x8: conv3x3 pad 1 + Tanh + avgpool 2, conv3x3 pad 1 + Tanh + avgpool 2, Linear-Tanh-Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 16, 3, padding=1)
        self.f1, self.f2 = nn.Linear(16 * 2 * 2, 32), nn.Linear(32, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.c2(x)), 2)
        return self.f2(torch.tanh(self.f1(torch.flatten(x, 1))))


class GeluDigits(nn.Module):
    """conv3x3 + GELU + maxpool 2, conv3x3 + GELU, Linear-GELU-Linear, Softmax (the model outputs probabilities)."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 16, 3, padding=1)
        self.f1, self.f2 = nn.Linear(16 * 4 * 4, 32), nn.Linear(32, 10)
        self.act, self.soft = nn.GELU(), nn.Softmax(dim=1)

    def forward(self, x):
        x = self.act(self.c2(F.max_pool2d(self.act(self.c1(x)), 2)))
        return self.soft(self.f2(self.act(self.f1(torch.flatten(x, 1)))))


def colour_digits(seed: int = 0) -> dict[str, np.ndarray]:
    """The 8x8 digits upscaled to 16x16, each in a random colour on a random dark background: x (N, 3, 16, 16)."""
    split = digits_split()
    rng = np.random.default_rng(seed)

    def paint(x: torch.Tensor) -> np.ndarray:
        g = np.repeat(np.repeat(x.numpy()[:, 0], 2, axis=1), 2, axis=2)  # (N, 16, 16) in [0, 1]
        fg = rng.uniform(0.4, 1.0, (len(g), 3, 1, 1))
        bg = rng.uniform(0.0, 0.3, (len(g), 3, 1, 1))
        noise = rng.normal(0.0, 0.03, (len(g), 3, 16, 16))
        return (g[:, None] * fg + (1 - g[:, None]) * bg + noise).astype(np.float32)

    return {"x": paint(split.x_train), "y": split.y_train.numpy(), "x_test": paint(split.x_test),
            "y_test": split.y_test.numpy()}


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int = 0, lr: float = 3e-3) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            out = model(x[idx])
            loss = F.nll_loss(torch.log(out.clamp_min(1e-12)), y[idx]) if isinstance(model, GeluDigits) \
                else F.cross_entropy(out, y[idx])
            loss.backward()
            opt.step()
    return model.eval()


def export(model: nn.Module, example: torch.Tensor, out: Path, name: str, card: dict) -> None:
    path = out / f"{name}.pt2"
    torch.export.save(torch.export.export(model, (example[:2],)), str(path))
    card["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (out / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"{path}: test accuracy {card['test_accuracy_pct']:.2f}% ({card['data']})", flush=True)


def export_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """torch's default (dynamo) ONNX exporter, one file, its progress lines and warnings kept off the output."""
    import contextlib
    import io
    import logging
    import warnings

    quiet = logging.getLogger("torch.onnx")
    level, quiet.level = quiet.level, logging.ERROR
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example[:1],), str(path), external_data=False)
    finally:
        quiet.level = level
    print(f"{path}: exported by torch.onnx.export", flush=True)


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return round(100.0 * float((model(x).argmax(1) == y).float().mean()), 2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", type=Path, required=True, help="output folder (created)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    with torch_threads(1, deterministic=True):
        data = colour_digits(args.seed)
        np.savez(args.output / "colour_digits.npz", **data)
        x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
        xt, yt = torch.from_numpy(data["x_test"]), torch.from_numpy(data["y_test"])
        torch.manual_seed(args.seed)
        m = train(ColourGAP(), x, y, epochs=15, seed=args.seed)
        export(m, xt, args.output, "colour_gap", {"data": "colour_digits.npz", "epochs": 15, "seed": args.seed,
                                                  "test_accuracy_pct": _accuracy(m, xt, yt)})
        split = digits_split()
        for name, cls, epochs in (("tanh_digits", TanhDigits, 20), ("gelu_digits", GeluDigits, 15)):
            torch.manual_seed(args.seed)
            m = train(cls(), split.x_train, split.y_train, epochs=epochs, seed=args.seed)
            export(m, split.x_test, args.output, name, {"data": "digits (built-in)", "epochs": epochs,
                                                         "seed": args.seed,
                                                         "test_accuracy_pct": _accuracy(m, split.x_test, split.y_test)})
        export_onnx(m, split.x_test, args.output / "gelu_digits.onnx")  # the same network, final Softmax, from ONNX
    return 0


if __name__ == "__main__":
    sys.exit(main())
