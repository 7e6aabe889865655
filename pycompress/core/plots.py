"""Matplotlib figures of the lossy study (Agg backend, deterministic PNG metadata)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

_META = {"Software": None, "Creation Time": None}


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=_META)
    plt.close(fig)


def iteration_plot(runs: Mapping[str, Sequence[dict]], path: Path, title: str, baseline: float) -> None:
    """Memory saved and accuracy per iteration, one line per run (Fig. 9 / Fig. 10 style).

    Accuracy: validation (what selects, solid) and, where recorded, test (held out, dashed)."""
    fig, (ax_m, ax_a) = plt.subplots(1, 2, figsize=(11, 4))
    for name, recs in runs.items():
        it = [r["iteration"] for r in recs]
        ax_m.plot(it, [r["savings_pct"] for r in recs], marker="o", label=name)
        line, = ax_a.plot(it, [r["accuracy"] for r in recs], marker="o", label=name)
        if all(r.get("test_accuracy") is not None for r in recs):
            ax_a.plot(it, [r["test_accuracy"] for r in recs], ls="--", marker=".", color=line.get_color(), lw=1)
    ax_a.axhline(baseline, color="grey", ls="--", lw=1, label="uncompressed (validation)")
    ax_a.axhline(baseline - 0.5, color="grey", ls=":", lw=1, label="-0.5 pts")
    ax_m.set(xlabel="iteration (0 = lossless exponent sharing)", ylabel="memory saved (%)", title=f"{title}: memory")
    ax_a.set(xlabel="iteration (0 = lossless exponent sharing)", ylabel="accuracy (%): validation solid, test dashed",
             title=f"{title}: accuracy")
    ax_a.set_ylim(max(0.0, min([baseline - 12.0] + [r["accuracy"] for recs in runs.values() for r in recs])), 100.0)
    for ax in (ax_m, ax_a):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    _save(fig, path)


def comparison_plot(rows: Sequence[tuple[str, float, float]], path: Path, title: str) -> None:
    """Bars of memory saved and accuracy for a few named results (Fig. 11 / Table 3 style)."""
    names = [r[0] for r in rows]
    x = np.arange(len(rows))
    fig, (ax_m, ax_a) = plt.subplots(1, 2, figsize=(11, 4))
    ax_m.bar(x, [r[1] for r in rows], color="tab:blue")
    ax_a.bar(x, [r[2] for r in rows], color="tab:green")
    ax_m.set(ylabel="memory saved (%)", title=f"{title}: memory")
    ax_a.set(ylabel="test accuracy (%)", title=f"{title}: accuracy")
    lo = min(r[2] for r in rows)
    ax_a.set_ylim(max(0.0, lo - 2.0), 100.0)
    for ax in (ax_m, ax_a):
        ax.set_xticks(x, names, rotation=30, ha="right", fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    _save(fig, path)


def exponent_histograms(hists: Mapping[str, Mapping[str, np.ndarray]], bias: int, path: Path, title: str) -> None:
    """Exponent-field histogram per layer (Fig. 2 / Fig. 8 style), one bar series per model variant."""
    layers = list(next(iter(hists.values())))
    fig, axes = plt.subplots(1, len(layers), figsize=(3.2 * len(layers), 3.2), squeeze=False)
    width = 0.8 / len(hists)
    for ax, layer in zip(axes[0], layers):
        used = [np.flatnonzero(h[layer][1:]) + 1 for h in hists.values()]  # field 0 (zero) counted in the title
        lo = min([int(u.min()) for u in used if u.size] or [1])
        hi = max([int(u.max()) for u in used if u.size] or [1])
        fields = np.arange(lo, hi + 1)
        for j, (variant, h) in enumerate(hists.items()):
            ax.bar(fields - bias + j * width, h[layer][lo:hi + 1], width=width, label=variant)
        zeros = "/".join(str(int(h[layer][0])) for h in hists.values())
        ax.set(title=f"{layer} (zero field: {zeros})", xlabel="unbiased exponent", ylabel="weights")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title)
    _save(fig, path)
