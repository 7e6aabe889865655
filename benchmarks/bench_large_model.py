"""Peak memory and time of `stats`, `compress`, `approximate`, `mantissa`, `esart` on a ResNet18-sized model (issue 14, item 5).

Builds a synthetic ResNet18 (11.7 M fp32 weights, random init scaled like a trained net) as a
.safetensors state_dict and as a torch.export program (.pt2, input 1x3x32x32), a small .npz of
random images, then runs each command in a child process and reports its peak RSS (VmHWM, reset after
the imports; Linux only) and its growth over the same command on a tiny twin of the same layers (the
interpreter, torch and lazily imported modules), as a multiple of the FP32 model size. Not a unit test:
it takes about two minutes (`--only approximate,esart` runs the commands whose label contains a word).

    .venv/bin/python benchmarks/bench_large_model.py [--dir /tmp/pcz_large] [--width 64] [--max-iterations 2] [--only WORDS]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]


# the example's basic block (conv-BN-ReLU, conv-BN, 1x1 projection shortcut): one definition for both
sys.path.insert(0, str(ROOT / "examples" / "resnet_mnist"))
from train_export import Block  # noqa: E402


class ResNet18(nn.Module):
    """ResNet18 layout (2-2-2-2 basic blocks), CIFAR-style stem for 32x32 inputs."""

    def __init__(self, width: int = 64, classes: int = 10) -> None:
        super().__init__()
        w = [width, 2 * width, 4 * width, 8 * width]
        self.conv1 = nn.Conv2d(3, w[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        layers, cin = [], w[0]
        for i, c in enumerate(w):
            for j in range(2):
                layers.append(Block(cin, c, 2 if (i > 0 and j == 0) else 1))
                cin = c
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.pool(self.layers(x))
        return self.fc(torch.flatten(x, 1))


def make_inputs(folder: Path, width: int, classes: int) -> tuple[Path, Path, Path, int]:
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = ResNet18(width, classes).eval()
    with torch.no_grad():  # make the BN statistics non-trivial, as in a trained net
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    n = sum(v.numel() for v in sd.values() if v.is_floating_point())
    st, pt2, npz = folder / "model.safetensors", folder / "model.pt2", folder / "data.npz"
    save_file(sd, str(st))
    torch.export.save(torch.export.export(model, (torch.randn(1, 3, 32, 32),)), str(pt2))
    rng = np.random.default_rng(0)
    np.savez(npz, x=rng.standard_normal((64, 3, 32, 32)).astype(np.float32), y=rng.integers(0, 10, 64))
    return st, pt2, npz, n


WRAPPER = """
import sys
import numpy, torch, safetensors.torch  # imported before the peak is reset: what every command pays anyway
import pycompress.cli.main, pycompress.compress, pycompress.core.container, pycompress.frontends, pycompress.lossy.iterative
def status(key):
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(key + ':'))
base = status('VmRSS')
open('/proc/self/clear_refs', 'w').write('5')  # resets VmHWM (Linux >= 4.0)
sys.argv = ['pycompress'] + sys.argv[1:]
try:
    import runpy
    runpy.run_module('pycompress', run_name='__main__')
finally:
    print(f'@@rss {base} {status("VmHWM")}', file=sys.stderr)
"""


def measured(cmd: list[str]) -> tuple[float, float, float, str]:
    """(seconds, RSS after imports, peak RSS, stderr) of `pycompress cmd` in a child process; bytes."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"pycompress {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    base, peak = (int(x) * 1024.0 for x in next(l.split()[1:] for l in proc.stderr.splitlines() if l.startswith("@@rss")))
    return seconds, base, peak, proc.stderr


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", default="/tmp/pcz_large")
    p.add_argument("--width", type=int, default=64, help="first-stage channels (default 64, as ResNet18)")
    p.add_argument("--max-iterations", type=int, default=2)
    p.add_argument("--classes", type=int, default=1000, help="classifier outputs (1000: 11.7 M weights, as torchvision's)")
    p.add_argument("--verbose", action="store_true", help="also show each command's stderr (progress lines)")
    p.add_argument("--only", default="", help="comma-separated words: run only the commands whose label holds one")
    args = p.parse_args()
    folder = Path(args.dir)
    (folder / "tiny").mkdir(parents=True, exist_ok=True)
    big = make_inputs(folder, args.width, args.classes)
    tiny = make_inputs(folder / "tiny", 2, args.classes // 100 or 10)  # same layers, ~1/1000 of the weights
    n = big[3]
    fp32 = 4.0 * n
    print(f"model: {n:,} float weights, FP32 size {fp32 / 2**20:.1f} MiB (tiny twin: {tiny[3]:,} weights)")
    print("peak = peak RSS of the command; growth = (peak - the same command's peak on the tiny twin) / FP32 size")
    print(f"{'command':<46} {'time s':>7} {'peak MiB':>9} {'tiny MiB':>9} {'growth x FP32':>14}")

    def commands(st, pt2, npz, d):
        return (
            ("stats model.safetensors", ["stats", str(st)]),
            ("compress model.safetensors (bf16)", ["compress", str(st), "-o", str(d / "m.pcz"), "--format", "bf16"]),
            ("compress model.pt2 (bf16)", ["compress", str(pt2), "-o", str(d / "mpt2.pcz"), "--format", "bf16"]),
            ("stats m.pcz", ["stats", str(d / "m.pcz")]),
            (f"approximate model.pt2 --data (<= {args.max_iterations} iter)",
             ["approximate", str(pt2), "-o", str(d / "ma.pcz"), "--data", str(npz), "--format", "bf16",
              "--max-iterations", str(args.max_iterations), "--max-drop", "100", "--force"]),
            ("mantissa model.pt2 --data (6 iter, m'=6..1)",
             ["mantissa", str(pt2), "-o", str(d / "mm.pcz"), "--data", str(npz), "--format", "bf16",
              "--variant", "bits", "--start", "6", "--stop", "1", "--max-drop", "100", "--force"]),
            ("esart model.pt2 --data (2 iter, 1 epoch each)",
             ["esart", str(pt2), "-o", str(d / "me.pcz"), "--data", str(npz), "--format", "bf16",
              "--start", "2", "--stop", "1", "--epochs", "1", "--max-drop", "100", "--force"]),
        )

    words = [w for w in args.only.split(",") if w]
    rows = list(zip(commands(*big[:3], folder), commands(*tiny[:3], folder / "tiny")))
    chosen = [not words or any(w in label for w in words) for (label, _), _ in rows]
    for i in reversed(range(len(rows))):  # a chosen command that reads an earlier one's output needs it run too
        if chosen[i]:
            for j in range(i):
                out = rows[j][0][1][rows[j][0][1].index("-o") + 1] if "-o" in rows[j][0][1] else None
                chosen[j] = chosen[j] or out in rows[i][0][1][1:]
    for ((label, cmd), (_, tcmd)), run in zip(rows, chosen):
        if not run:
            continue
        for c in (cmd, tcmd):  # compress refuses to overwrite: start from no output
            if c[0] == "compress":
                Path(c[c.index("-o") + 1]).unlink(missing_ok=True)
        seconds, _, peak, err = measured(cmd)
        _, _, tpeak, _ = measured(tcmd)
        print(f"{label:<46} {seconds:7.1f} {peak / 2**20:9.0f} {tpeak / 2**20:9.0f} {(peak - tpeak) / fp32:14.2f}", flush=True)
        if args.verbose:
            print("    " + "\n    ".join(l for l in err.splitlines() if not l.startswith("@@")))

if __name__ == "__main__":
    main()
