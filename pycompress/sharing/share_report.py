"""The weight-sharing v2 report: share.json, README.md, ratio_vs_test.png, sensitivity.png and the chosen
models (models/*.pcz, each readable by `pycompress evaluate`).

Validation figures (which selected) and test figures (reported only) stand side by side; the plot
puts every candidate of the four variants at its test accuracy, beside Deep Compression's LeNet-5.
"""
from __future__ import annotations

import json

from pycompress.frontends.shipped import made_with

from .kfold import fold_rows, folds_summary
from .share import VARIANT_TITLES, VARIANTS, Candidate, ShareResult, with_info
from .sensitivity import png_bytes

# Han, Mao and Dally, ICLR 2016, Table 1: LeNet-5 (Caffe, 431K weights) 1720 KB -> 44 KB, top-1 error 0.80% -> 0.74%
DEEP_COMPRESSION = {"name": "Deep Compression, LeNet-5 (Han et al. 2016)", "rate": 39.0, "change": 0.06,
                    "note": "Caffe LeNet-5, 431K weights, 10,000 MNIST test digits; pruning, trained quantization, Huffman"}
SLUGS = {"cluster": "cluster", "cluster+ft": "cluster-ft", "prune+cluster+ft": "prune-cluster-ft", "entropy": "entropy"}
REPORT_NAMES = ("README.md", "share.json", "ratio_vs_test.png", "sensitivity.png", "models")


BOUND_TITLES = {"confidence": "drop bound", "prediction": "prediction bound"}


def model_name(variant: str, max_drop: float) -> str:
    return f"{SLUGS[variant]}-drop{max_drop:g}.pcz"


def chosen_models(result: ShareResult, source: str) -> dict[str, object]:
    """File name -> container of every variant's choice under every bound (variants with none left out)."""
    out = {}
    for d in result.config.max_drops:
        for v in VARIANTS:
            c = result.chosen(v, d)
            if c is not None:
                out[model_name(v, d)] = with_info(c, result, d, source)
    return out


def result_dict(result: ShareResult) -> dict:
    cfg, names = result.config, result.names
    conf = cfg.shown_confidence
    chosen = {f"{v}@{d:g}": (c.to_dict(names, conf) if (c := result.chosen(v, d)) else None)
              for d in cfg.max_drops for v in VARIANTS}
    return {
        "settings": {"max_drops": list(cfg.max_drops), "confidence": conf, "selection_confidence": result.rule.confidence,
                     "prune_grid": list(cfg.prune_grid),
                     "ks": list(cfg.ks), "prune_budgets": list(cfg.prune_levels), "k_budgets": list(cfg.k_levels),
                     "steps": cfg.steps, "step_epochs": cfg.step_epochs, "final_epochs": cfg.final_epochs,
                     "codebook_epochs": cfg.codebook_epochs, "codebook_format": cfg.codebook_format, "seed": cfg.seed,
                     "stop_drop": cfg.stop_drop, "plan_items": cfg.plan_items, "plan_inputs": cfg.plan_inputs,
                     "train": vars(cfg.train)},
        "made_with": made_with(),  # training differs between CPUs: a report made elsewhere can differ
        "layers": [{"name": n, "n": k} for n, k in zip(names, result.numel)],
        "baseline": {"validation": result.baseline_val.to_dict(), "test": result.baseline_test.to_dict()},
        "selection": "validation only: " + result.rule.text, "selection_rule": result.rule.name, "selection_bound": result.bound_name,
        "selected_on": result.selected_on,
        **({"folds": folds_summary(result.folds)["folds"],
            "pooled": [{"variant": c.variant, "label": c.label,
                        "validation": (p.to_dict(conf) | {"selection_bound": result.bound(p)}
                                       if (p := result.selection(c)) is not None else None)}
                       for c in result.candidates],
            "chosen_per_fold": {f"{v}@{d:g}": (fold_rows(result, v, c.label) if (c := result.chosen(v, d)) else None)
                                for d in cfg.max_drops for v in VARIANTS}} if result.folds else {}),
        "sensitivity": {"pruning": [c.to_dict() for c in result.prune_sensitivity],
                        "codebook": [c.to_dict() for c in result.cluster_sensitivity]},
        "rungs": list(result.rungs),
        "chosen": chosen,
        "candidates": [c.to_dict(names, conf) for c in result.candidates],
        "deep_compression": DEEP_COMPRESSION,
        "seconds": round(result.seconds, 1),
    }


COLORS = {"cluster": "tab:gray", "cluster+ft": "tab:blue", "prune+cluster+ft": "tab:orange", "entropy": "tab:green"}


def plot_ratio_test(result: ShareResult) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 5))
    base = result.baseline_test.accuracy
    for v in VARIANTS:
        cs = [c for c in result.candidates if c.variant == v]
        ax.scatter([c.rate for c in cs], [c.test.accuracy - base for c in cs], s=18, color=COLORS[v], alpha=0.6,
                   label=f"{VARIANT_TITLES[v]} (candidates)")
    markers = ("*", "D", "P")
    for i, d in enumerate(result.config.max_drops):
        for v in VARIANTS:
            c = result.chosen(v, d)
            if c is not None:
                ax.plot([c.rate], [c.test.accuracy - base], markers[i % 3], color=COLORS[v], ms=14 - 3 * i, mec="k",
                        label=f"chosen, max drop {d:g}: {VARIANT_TITLES[v]} {c.rate:.1f}x")
        ax.axhline(-d, color="tab:red", ls="--", lw=1)
    dc = DEEP_COMPRESSION
    ax.plot([dc["rate"]], [dc["change"]], "X", color="tab:purple", ms=12, label=f"{dc['name']}: {dc['rate']:g}x")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("compression vs FP32 (file bytes of weights, codebooks and code tables)")
    ax.set_ylabel(f"test accuracy change, points ({result.baseline_test.n:,} test items, original {base:.1f}%)")
    ax.set_title("Weight sharing v2: chosen on validation, measured on test")
    low = min([c.test.accuracy - base for c in result.candidates] + [-max(result.config.max_drops)])
    ax.set_ylim(max(low, -6) - 0.3, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return png_bytes(fig)


def plot_sensitivity(result: ShareResult) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for c in result.prune_sensitivity:
        a.plot(c.settings, c.drop, marker="o", ms=3, label=f"{c.name} ({c.n:,})")
    for c in result.cluster_sensitivity:
        b.plot(c.settings, c.drop, marker="o", ms=3, label=c.name)
    a.set_xlabel("pruning ratio of one layer (others intact)")
    b.set_xlabel("codebook size k of one layer (others intact)")
    b.set_xscale("log", base=2)
    for ax in (a, b):
        ax.set_ylabel(f"validation drop, points ({result.baseline_val.n} items)")
        ax.set_yscale("symlog", linthresh=1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Sensitivity without retraining (what the pruning ladder and codebook plans are built from)")
    fig.tight_layout()
    return png_bytes(fig)


def _row(result: ShareResult, c: Candidate, base_test: float, on_walk: set[int]) -> list:
    p = result.selection(c)
    pooled = ([f"{p.lost}/{p.gained}" if p else "a fold has none", f"{p.drop:+.2f}" if p else ""] if result.folds else [])
    label = (c.label + (" *" if id(c) in on_walk else "")
             + (f" (= {c.same_as})" if c.same_as else ""))
    return ([c.variant, label, f"{c.rate:.2f}x", c.file_bytes, f"{c.val.accuracy:.2f}", f"{c.val.lost}/{c.val.gained}"]
            + pooled + [f"{result.bound(p):.2f}" if p else "", f"{c.test.accuracy:.2f}", f"{c.test.accuracy - base_test:+.2f}"])


def _honesty(result: ShareResult) -> list[str]:
    """How each chosen setting did on every fold's own model: the test drop beside the allowed drop."""
    if not result.folds:
        return []
    cfg = result.config
    lines = ["## Every fold's model at the chosen setting (the honesty check)\n",
             f"The pooled counts speak for the setting on LeNets trained by the recipe; each fold's model is one "
             f"such LeNet, on its own train/validation split, the {result.baseline_test.n:,} test items fixed. The test "
             "drop of each fold's candidate at the chosen setting, beside the allowed drop:\n"]
    base_test = {0: result.baseline_test.accuracy} | {o.fold: o.baseline_test.accuracy for o in result.folds}
    for d in cfg.max_drops:
        c = result.chosen("entropy", d)
        if c is None:
            continue
        rows = fold_rows(result, "entropy", c.label)
        over = sum(r["test"]["accuracy"] < base_test[r["fold"]] - d - 1e-9 for r in rows)
        lines += [f"**max drop {d:g}, {c.label}**: test drop over {d:g} in {over} of {len(rows)} folds.\n",
                  table(["fold", "original test %", "vs FP32", "validation lost/gained", "test %", "test change"],
                        [[r["fold"], f"{base_test[r['fold']]:.2f}", f"{r['rate']:.2f}x", f"{r['validation']['lost']}/{r['validation']['gained']}",
                          f"{r['test']['accuracy']:.2f}", f"{r['test']['accuracy'] - base_test[r['fold']]:+.2f}"]
                         for r in rows], markdown=True), ""]
    return lines


def table(*args, **kw):
    from pycompress.core.report import table as t

    return t(*args, **kw)


def markdown(result: ShareResult, command: str, models_dir: str | None, file_sizes: dict[str, int] | None = None) -> str:
    cfg, names = result.config, result.names
    bv, bt = result.baseline_val, result.baseline_test
    n = sum(result.numel)
    lines = [f"# Weight sharing v2: pruning, codebook fine-tuning and entropy-coded indices\n",
             f"Regenerate: `{command}` ({result.seconds / 60:.0f} min"
             + (f"; {len(result.folds) + 1} folds, each on one thread)\n" if result.folds else " on one thread)\n")]
    primary = cfg.max_drops[0]
    head = result.chosen("entropy", primary)
    if head is not None:
        sel = result.selection(head)
        lines.append(f"**Headline: {head.rate:.2f}x smaller than FP32 ({4 * n:,} -> {head.file_bytes:,} bytes of weights, "
                     f"codebooks and code tables), {bt.accuracy:.2f}% -> {head.test.accuracy:.2f}% on the {bt.n:,} held-out "
                     f"test items ({head.test.accuracy - bt.accuracy:+.2f} points).** Chosen on {result.selected_on} "
                     f"only (selection `{result.rule.name}`): drop {sel.drop:+.2f}, {result.bound_name} {result.bound(sel):.2f} <= {primary:g} "
                     f"points (this model's own validation part: {bv.accuracy:.2f}% -> {head.val.accuracy:.2f}%). The test "
                     "items never took part in any choice.\n")
        size = (file_sizes or {}).get(model_name("entropy", primary))
        if size:
            lines.append(f"The whole `.pcz` of that model is {size:,} bytes: the weights' {head.file_bytes:,} plus the raw "
                         "biases, the layer graph and the container's metadata (names, shapes, checksums, this search's "
                         f"record), {4 * n / size:.2f}x smaller than the FP32 weights alone.\n")
    lines.append(f"Selection (`{result.rule.name}`, validation only): for each variant and allowed drop, {result.rule.text}; "
                 f"the bound is the "
                 f"{result.bound_name} from the validation counts (paired, Agresti-Min; `pycompress/sharing/bound.py`)"
                 + (f"; with {len(result.folds) + 1} folds the paired counts of a setting are pooled over every fold's "
                    "search (`pycompress/sharing/kfold.py`: each extra fold trains its own original by the recipe "
                    "without its validation block), so the bound speaks for the setting on LeNets trained by the recipe. " if result.folds
                    else ". ") +
                 "Compression counts the bytes the file stores for the weight tensors (each field padded to whole bytes); "
                 "biases and other small tensors are kept raw and left out, as in the papers' figures.\n")
    on_walk = {id(c) for v in VARIANTS for c in result.walk(v)} if result.rule.walk else set()
    rows = []
    for d in cfg.max_drops:
        for v in VARIANTS:
            c = result.chosen(v, d)
            rows.append([f"{d:g}", VARIANT_TITLES[v]] + (["none within the bound"] + [""] * 6 if c is None else
                        [f"{c.rate:.2f}x", c.label, f"{c.val.accuracy:.2f}", f"{result.bound(result.selection(c)):.2f}",
                         f"{c.test.accuracy:.2f}", f"{c.test.accuracy - bt.accuracy:+.2f}",
                         f"`{models_dir}/{model_name(v, d)}`" if models_dir else ""]))
    lines += ["## Chosen configurations\n",
              table(["max drop", "variant", "vs FP32", "candidate", "validation %" + (" (fold 0)" if result.folds else ""),
                     BOUND_TITLES[result.rule.bound] + (" (all folds)" if result.folds else ""), "test %", "test change", "model"], rows,
                    markdown=True), "",
              f"Original: validation {bv.accuracy:.2f}% ({bv.n} items), test {bt.accuracy:.2f}% ({bt.n:,} items). "
              f"Deep Compression (Han et al., ICLR 2016) reports LeNet-5 at {DEEP_COMPRESSION['rate']:g}x with top-1 error "
              f"0.80% -> 0.74% ({DEEP_COMPRESSION['note']}): ten times more weights than this network.\n",
              "![ratio vs test accuracy](ratio_vs_test.png)\n"]
    lines += _honesty(result)
    if head is not None:
        lrows = [[nm, num, f"{r:.2f}", k, b, y, f"{32 * num / b:.1f}x"]
                 for nm, num, r, k, b, y in zip(names, result.numel, head.ratios, head.ks, head.layer_bits, head.layer_bytes)]
        lrows.append(["total", n, "", "", head.bits, head.file_bytes, f"{head.rate_bits:.1f}x"])
        lines += [f"## Headline model per layer ({head.label})\n",
                  table(["layer", "N", "pruned", "k", "stored bits", "stored bytes", "vs FP32 (bits)"], lrows, markdown=True), ""]
    rrows = [[f"{r['allowance']:g}"] + [f"{r['ratios'][nm]:.2f}" for nm in names]
             + [f"{r['validation']['accuracy']:.2f}", f"{r['test']['accuracy']:.2f}", r["seconds"]] for r in result.rungs]
    lines += ["## Pruning ladder (magnitude pruning with masked fine-tuning, before clustering)\n",
              table(["budget"] + list(names) + ["validation %", "test %", "seconds"], rrows, markdown=True), "",
              "## All candidates\n",
              table(["variant", "candidate", "vs FP32", "bytes", "validation %", "lost/gained"]
                    + (["all folds lost/gained", "all folds drop"] if result.folds else [])
                    + [BOUND_TITLES[result.rule.bound], "test %", "test change"],
                    [_row(result, c, bt.accuracy, on_walk) for c in result.candidates], markdown=True), "",
              ("A candidate marked * is on the ladder walk; one whose pruning budget gave the same plan as the rung "
               "below names that rung's model (= label).\n" if result.rule.walk else ""),
              "## Sensitivity (one layer at a time, no retraining; validation drop in points)\n",
              table(["layer"] + [f"p={r:g}" for r in cfg.prune_grid],
                    [[c.name] + [f"{d:+.1f}" for d in c.drop] for c in result.prune_sensitivity], markdown=True), "",
              table(["layer"] + [f"k={k}" for k in cfg.ks],
                    [[c.name] + [f"{d:+.1f}" for d in c.drop] for c in result.cluster_sensitivity], markdown=True), "",
              "![sensitivity](sensitivity.png)\n"]
    return "\n".join(lines)


def report_files(result: ShareResult, command: str, models: dict[str, object] | None) -> dict[str, bytes]:
    from pycompress.core import container

    blobs = {name: container.to_bytes(cm) for name, cm in (models or {}).items()}
    files = {"README.md": markdown(result, command, "models" if models else None,
                                   {n: len(b) for n, b in blobs.items()}).encode(),
             "share.json": (json.dumps(result_dict(result), indent=2) + "\n").encode(),
             "ratio_vs_test.png": plot_ratio_test(result), "sensitivity.png": plot_sensitivity(result)}
    for name, blob in blobs.items():
        files[f"models/{name}"] = blob
    return files
