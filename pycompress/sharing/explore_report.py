"""The exploration report: explore.json, README.md and pareto.png (plus the sensitivity files).

Accuracies that selected (validation) and held-out figures (test) are shown side by side.
"""
from __future__ import annotations

from .cluster import EXPSHARE
from .explore import ExploreResult, label

PAPER = (("ResNet18 / ImageNet (DDECS'20)", "4.85x", "-0.14"), ("SqueezeNet / ImageNet (DDECS'20)", "4.91x", "-0.44"))


def result_dict(result: ExploreResult, verified_accuracy: float) -> dict:
    names = result.names
    return {
        "settings": {"max_drop": result.config.max_drop, "confidence": result.config.confidence, "trials": result.config.trials,
                     "population": result.config.population, "seed": result.config.seed, "ks": list(result.config.ks),
                     "codebook_format": result.config.codebook_format, "allow_expshare": result.config.allow_expshare,
                     "study_name": result.study_name},
        "layers": [{"name": n, "n": c} for n, c in zip(names, result.numel)],
        "selection": {"data": "validation", "images": result.images},
        "baseline_accuracy": result.baseline_accuracy,
        "baseline_test_accuracy": result.baseline_test_accuracy, "test_images": result.test_images,
        "chosen": {**result.chosen.to_dict(names), "verified_accuracy": verified_accuracy,
                   "drop_bound": result.chosen.drop_bound(result.images, result.config.confidence),
                   "test_accuracy": result.test_of(result.chosen)},
        "greedy": {**result.greedy.to_dict(names), "test_accuracy": result.test_of(result.greedy)},
        "pareto_front": [{**p.to_dict(names), "test_accuracy": result.test_of(p)} for p in result.front],
        "points": [p.to_dict(names) for p in result.points],
    }


def plot_pareto(result: ExploreResult) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .sensitivity import png_bytes

    fig, ax = plt.subplots(figsize=(7, 4.5))
    pts = result.points
    ax.scatter([p.rate_fp32 for p in pts], [p.accuracy for p in pts], s=10, c="0.7", label="evaluated configurations")
    uni = [p for p in pts if p.source == "uniform"]
    ax.plot([p.rate_fp32 for p in uni], [p.accuracy for p in uni], "s:", color="tab:blue", ms=5, label="same k in every layer")
    ax.step([p.rate_fp32 for p in result.front], [p.accuracy for p in result.front], "o-", where="pre",
            color="tab:orange", ms=4, label="Pareto front")
    bound = result.baseline_accuracy - result.config.max_drop
    ax.axhline(bound, color="tab:red", ls="--", lw=1, label=f"bound: {result.config.max_drop:g} points below {result.baseline_accuracy:.1f}%")
    c = result.chosen
    ax.plot([c.rate_fp32], [c.accuracy], "*", color="tab:green", ms=14, label=f"chosen: {c.rate_fp32:.2f}x, {c.accuracy:.1f}%")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("compression rate vs FP32 (weights, codebooks included)")
    ax.set_ylabel(f"top-1 accuracy, % of {result.images:,} validation digits")
    ax.set_ylim(max(min(p.accuracy for p in pts), bound - 3) - 0.5, result.baseline_accuracy + 0.5)
    ax.set_title("Per-layer weight sharing: design space")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return png_bytes(fig)


def report_markdown(result: ExploreResult, verified_accuracy: float, command: str) -> str:
    from pycompress.core.report import table
    from .sensitivity import sensitivity_markdown

    c, names = result.chosen, result.names
    drop = result.baseline_accuracy - c.accuracy
    test, base_test = result.test_of(c), result.baseline_test_accuracy
    rows = []
    for name, n, choice, bits, size in zip(names, result.numel, c.config, result.chosen_bits, result.chosen_sizes):
        kind = (f"exponent sharing (lossless, {size} exponents)" if choice == EXPSHARE
                else f"cluster, k={size}" + (f" (asked {choice}: all distinct values)" if size < choice else ""))
        rows.append([name, n, kind,
                     bits, f"{32 * n / bits:.2f}x", f"{16 * n / bits:.2f}x"])
    rows.append(["total", sum(result.numel), "", c.bits, f"{c.rate_fp32:.2f}x", f"{c.rate_bf16:.2f}x"])
    front = [[f"{p.rate_fp32:.2f}x", f"{p.rate_bf16:.2f}x", f"{p.accuracy:.2f}", f"{result.test_of(p):.2f}",
              " ".join(label(x) for x in p.config), p.source] for p in result.front]
    paper = [[what, rate, loss] for what, rate, loss in PAPER]
    paper.append(["LeNet-5 / MNIST, this report (test digits)", f"{c.rate_fp32:.2f}x", f"{test - base_test:+.2f}"])
    return "\n".join([
        "# Weight sharing by clustering on the default LeNet-5",
        "",
        f"Regenerate: `{command}`",
        "",
        f"**Headline: {c.rate_fp32:.2f}x compression of the weights against FP32 ({c.rate_bf16:.2f}x against BF16), "
        f"codebooks included, {base_test:.2f}% -> {test:.2f}% on the {result.test_images:,} held-out test digits "
        f"({test - base_test:+.2f} points), no retraining.** The configuration was chosen on the {result.images:,} "
        f"validation digits: {result.baseline_accuracy:.2f}% -> {c.accuracy:.2f}% (drop {drop:.2f}; upper "
        f"{result.config.confidence:.0%} confidence bound on the drop {c.drop_bound(result.images, result.config.confidence):.2f}"
        f" <= {result.config.max_drop:g}); the test digits never took part in the search. The written model was re-read "
        f"and re-evaluated: {verified_accuracy:.2f}% validation, {test:.2f}% test.",
        "",
        table(["model", "compression vs FP32", "accuracy change (points)"], paper, markdown=True),
        "",
        f"## Chosen configuration (bound: {result.config.max_drop:g} points, codebook {result.config.codebook_format})",
        "",
        table(["layer", "N", "storage", "bits", "vs FP32", "vs BF16"], rows, markdown=True),
        "",
        f"Greedy search alone: {result.greedy.rate_fp32:.2f}x at {result.greedy.accuracy:.2f}% validation, "
        f"{result.test_of(result.greedy):.2f}% test. "
        f"Chosen point found by: {c.source}. Configurations evaluated: {len(result.points)} (uniform k, greedy, "
        f"NSGA-II with {result.config.trials} trials, population {result.config.population}, seed {result.config.seed}, "
        "then a hill-climbing polish of the best point within the bound).",
        "",
        "## Pareto front (compression vs validation accuracy)",
        "",
        "Choices per layer in the order " + ", ".join(names) + "; kN: clustering into N values (a layer with "
        "fewer distinct values keeps them all), expshare: lossless exponent sharing.",
        "",
        table(["vs FP32", "vs BF16", "validation acc %", "test acc %", "choices", "found by"], front, markdown=True),
        "",
        "![Pareto front](pareto.png)",
        "",
        "## Per-layer sensitivity",
        "",
        sensitivity_markdown(result.sensitivity),
        "![sensitivity](sensitivity.png)",
        "",
    ])


def report_files(result: ExploreResult, verified_accuracy: float, command: str) -> dict[str, bytes]:
    import json

    from .sensitivity import sensitivity_files

    files = sensitivity_files(result.sensitivity)
    files["explore.json"] = (json.dumps(result_dict(result, verified_accuracy), indent=2) + "\n").encode()
    files["pareto.png"] = plot_pareto(result)
    files["README.md"] = report_markdown(result, verified_accuracy, command).encode()
    return files
