"""Writes a `StudyResult` as a report folder: report.md, study.json, PNG figures, headline .pcz models.

The folder is built beside the target and renamed into place, so a failure
never leaves a half-written report.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pycompress.core import container
from pycompress.core.accounting import exponent_histogram
from pycompress.core.fileio import atomic_directory
from pycompress.core.formats import get_format
from .iterative import finalize
from pycompress.core.plots import comparison_plot, exponent_histograms, iteration_plot
from pycompress.core.report import table
from .study import LOSS_BUDGET, StudyResult

BUDGETS = (("no loss", 0.0), (f"<= {LOSS_BUDGET:g} pts", LOSS_BUDGET))
MODEL_FAMILIES = ("ESART (Alg. 4)", "exponent approximation (Alg. 1)")
PAPER = [
    ("TECS'24 §4.3.2", "lossless exponent sharing, BF16, CIFAR-10 models", "15.02-18.84%"),
    ("TECS'24 §4.3.2 / Fig. 10", "ESART, BF16, no accuracy loss (ResNet18, VGG11-BN, DenseNet121, MobileNetV2)", "33.22%, 34.97%, 31.22%, 38.48%"),
    ("TECS'24 Table 2 / Fig. 9", "A2 by magnitude, BF16, iteration 2 (ResNet18: -1.98 pts)", "31.25%"),
    ("TECS'24 §4.5", "LeNet/MNIST, FP32 storage, ESART 5th iteration (97.64% -> 97.16%)", "15% vs FP32"),
    ("TECS'24 Fig. 7", "upper bound of exponent sharing alone, BF16 / FP32", "43.75% / 21.875%"),
]


def best_in(result: StudyResult, names: list[str], fmt: str, budget: float):
    """(run name, record position) saving the most memory within `budget` points, among runs stored in `fmt`."""
    best = None
    for name in names:
        run = result.runs[name]
        if run.format != fmt:
            continue
        j = run.pick(budget)
        key = (run.records[j].savings_pct, -run.records[j].drop)
        if best is None or key > best[0]:
            best = (key, name, j)
    return None if best is None else (best[1], best[2])


def headline(result: StudyResult) -> list[dict]:
    rows = []
    for family, names in result.families.items():
        for fmt in (result.config.format, "fp32"):
            for label, budget in BUDGETS:
                hit = best_in(result, names, fmt, budget)
                if hit is None:
                    continue
                rec = result.runs[hit[0]].records[hit[1]]
                rows.append({"family": family, "format": fmt, "budget": label, "run": hit[0], "iteration": rec.iteration,
                             "label": rec.label, "accuracy": rec.accuracy, "test_accuracy": rec.test_accuracy,
                             "drop": rec.drop, "savings_pct": rec.savings_pct,
                             "savings_fp32_pct": rec.savings_fp32_pct, "position": hit[1]})
    return rows


def _cell(row: dict | None) -> str:
    if row is None:
        return "-"
    return (f"**{row['savings_pct']:.2f}%** (test {_pct(row['test_accuracy'])}, validation {row['accuracy']:.2f}%; "
            f"{row['run']} it. {row['iteration']}: {row['label']})")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}%"


def _run_table(run) -> str:
    rows = [[r.iteration, r.label, f"{r.accuracy:.2f}", f"{r.drop:+.2f}", _pct(r.test_accuracy).rstrip("%"),
             f"{r.savings_pct:.2f}", f"{r.savings_fp32_pct:.2f}",
             f"{r.approximated_pct:.2f}", " ".join(map(str, r.index_bits.values())), r.mantissa_bits, f"{r.seconds:.1f}",
             "yes" if r.accepted else "stop"] for r in run.records]
    return table(["it.", "step", "val. acc %", "val. drop", "test acc %", f"saved % vs {run.format}", "saved % vs fp32", "% weights changed",
                  "i bits per layer", "m bits", "s", "ok"], rows, markdown=True)


def _table2(result: StudyResult) -> str:
    mag, freq = result.runs["a2-magnitude"].records, result.runs["a2-frequency"].records
    rows = []
    for j in range(max(len(mag), len(freq))):
        a = mag[j] if j < len(mag) else None
        b = freq[j] if j < len(freq) else None
        ref = a or b
        rows.append(["original (lossless sharing)" if j == 0 else f"iteration {j}",
                     f"{a.accuracy:.2f} / {_pct(a.test_accuracy)}" if a else "NA", f"{a.approximated_pct:.2f}" if a else "NA",
                     f"{b.accuracy:.2f} / {_pct(b.test_accuracy)}" if b else "NA", f"{b.approximated_pct:.2f}" if b else "NA",
                     f"{ref.savings_pct:.2f}"])
    return table(["case", "magnitude: val. / test acc %", "magnitude: % approximated", "frequency: val. / test acc %",
                  "frequency: % approximated", "% memory saved"], rows, markdown=True)


def _histograms(result: StudyResult, picks: dict, path: Path) -> None:
    fmt = get_format(result.config.format)
    variants = {"lossless": result.runs["a2-magnitude"].models[0]}
    for key, label in (("exponent approximation (Alg. 1)", "best Alg. 1"), ("ESART (Alg. 4)", "best ESART")):
        if key in picks:
            run_name, pos = picks[key]
            variants[f"{label} (<= {LOSS_BUDGET:g})"] = result.runs[run_name].models[pos]
    hists = {v: {n: exponent_histogram(st.decode_bits(), fmt) for n, st in cm.tensors.items()} for v, cm in variants.items()}
    exponent_histograms(hists, fmt.bias, path, f"exponent fields per layer ({fmt.name})")


def write_study(result: StudyResult, out: Path, source: str = "lenet5_mnist.safetensors") -> Path:
    out = Path(out)
    with atomic_directory(out) as tmp:
        _write(result, tmp, source)
    return out


def _write(result: StudyResult, out: Path, source: str) -> None:
    cfg, fmt, base, base_test = result.config, result.config.format, result.baseline_accuracy, result.baseline_test_accuracy
    head = headline(result)
    lookup = {(r["family"], r["format"], r["budget"]): r for r in head}
    (out / "models").mkdir()
    models = []
    picks = {}
    for family in MODEL_FAMILIES:
        for label, _ in BUDGETS:
            row = lookup.get((family, fmt, label))
            if row is None:
                continue
            if label != "no loss":
                picks[family] = (row["run"], row["position"])
            stem = ("esart" if family.startswith("ESART") else "approx") + ("-noloss" if label == "no loss" else "-halfpoint")
            cm = finalize(result.runs[row["run"]], source, row["position"])
            container.save(cm, out / "models" / f"{stem}.pcz")
            models.append([f"models/{stem}.pcz", family, label, row["run"], row["label"], f"{row['accuracy']:.2f}",
                           _pct(row["test_accuracy"]).rstrip("%"), f"{row['savings_pct']:.2f}"])

    alg1 = {n: [r.to_dict() for r in result.runs[n].records] for n in result.families["exponent approximation (Alg. 1)"]
            if result.runs[n].format == fmt}
    iteration_plot(alg1, out / "fig9_approximation.png", f"Algorithm 1 ({fmt})", base)
    mant = {n: [r.to_dict() for r in result.runs[n].records] for n in result.runs
            if (n.startswith("mantissa") or n.startswith("esart")) and result.runs[n].format == fmt}
    iteration_plot(mant, out / "fig10_mantissa_esart.png", f"mantissa approximation and ESART ({fmt})", base)
    fp32 = {n: [r.to_dict() for r in result.runs[n].records] for n in result.runs if result.runs[n].format == "fp32"}
    if fp32:
        iteration_plot(fp32, out / "fig10_fp32.png", "fp32 storage", base)
    bars = [("uncompressed", 0.0, base_test)]
    bars += [(f"{r['run']} ({r['budget']})", r["savings_pct"], r["test_accuracy"]) for r in head if r["format"] == fmt]
    bars += [(b.method.replace("magnitude pruning (= ESART saving at", "pruning at ESART saving,").rstrip(")"), b.savings_pct, b.accuracy)
             for b in result.baselines]
    comparison_plot(bars, out / "fig11_comparison.png", f"best results vs baselines ({fmt}, test accuracy)")
    _histograms(result, picks, out / "exponent_histograms.png")

    n_weights = result.runs["a2-magnitude"].records[0].original_bits // get_format(fmt).total_bits
    lines = [f"# Lossy compression study: default LeNet-5 on MNIST ({fmt})", "",
             "Regenerate with `make study` (or `pycompress study -o reports/lenet`). Kashikar et al., TECS 2024, "
             "Algorithms 1, 2, 4 and Section 4.1.3 with the choices of REFERENCE.md. Memory is Eq. 1/2 over the "
             f"{n_weights:,} weights of the five weight tensors (biases stay raw, as in the paper). Accuracy: top-1 of the "
             "decoded container that is exported. Every stop and every choice (Algorithm 1's a_d, the best iteration "
             "within a budget) is made on the 500 **validation** digits; the 1,000 **test** digits are untouched by "
             "selection and reported beside (`pycompress evaluate MODEL.pcz` gives the test figure). The paper selects "
             "and reports on one test set.", "",
             f"Uncompressed (float32) accuracy: **{base_test:.2f}% test**, {base:.2f}% validation. "
             f"Thresholds: a_d = {cfg.max_drop} pts (validation), m_s = 0. "
             f"ESART: {cfg.epochs} epoch(s) per iteration, Adam lr {cfg.lr}, batch {cfg.batch}. "
             f"Study wall time: {result.seconds:.0f} s{' (quick mode)' if cfg.quick else ''}.", "",
             "## Headline: memory saved", "",
             f"Best saving per family among accepted iterations, chosen on validation: 'no loss' = validation accuracy >= "
             f"the uncompressed {base:.2f}%, '<= {LOSS_BUDGET:g} pts' = at most {LOSS_BUDGET:g} points below it. "
             "Cell: saving (test accuracy of the chosen model, its validation accuracy; run, iteration: step). "
             f"The uncompressed model scores {base_test:.2f}% on the test digits.", "",
             table(["method", f"vs {fmt.upper()}, no loss", f"vs {fmt.upper()}, <= {LOSS_BUDGET:g} pts",
                    "vs FP32 (fp32 storage), no loss", f"vs FP32 (fp32 storage), <= {LOSS_BUDGET:g} pts"],
                   [[fam] + [_cell(lookup.get((fam, f, b))) for f in (fmt, "fp32") for b, _ in BUDGETS]
                    for fam in result.families], markdown=True), "",
             f"A {fmt} container measured against FP32 storage of the same weights saves more: e.g. the best ESART "
             f"result within {LOSS_BUDGET:g} pts saves "
             + (f"{lookup[('ESART (Alg. 4)', fmt, BUDGETS[1][0])]['savings_fp32_pct']:.2f}% vs FP32."
                if ("ESART (Alg. 4)", fmt, BUDGETS[1][0]) in lookup else "n/a."), "",
             "The paper's figures for comparison:", "",
             table(["source", "what", "memory saved"], PAPER, markdown=True), "",
             "Headline models written here (each carries method, parameters, records and the recorded accuracy in its `info`):", "",
             table(["file", "family", "budget", "run", "step", "val. acc %", "test acc %", "saved %"], models, markdown=True), "",
             "## Table 2: A2 by exponent magnitude vs frequency", "", _table2(result), "",
             "## Figure 9: iterative weight approximation (Algorithm 1)", "", "![fig9](fig9_approximation.png)", "",
             "## Figure 10: mantissa approximation and ESART", "", "![fig10](fig10_mantissa_esart.png)", "",
             *(["![fig10 fp32](fig10_fp32.png)", ""] if fp32 else []),
             "## Figure 11 / Table 3: best results against magnitude pruning and int8 PTQ", "", "![fig11](fig11_comparison.png)", "",
             table(["method", "test acc %", f"saved % vs {fmt}", "weight bits", "detail"],
                   [[b.method, f"{b.accuracy:.2f}", f"{b.savings_pct:.2f}", b.weight_bits, b.detail] for b in result.baselines],
                   markdown=True), "",
             "## Table 4: model sizes (weight tensors)", "",
             table(["model", "bits", "KiB", "test acc %"],
                   [[f"uncompressed {fmt}", result.runs["a2-magnitude"].records[0].original_bits,
                     f"{result.runs['a2-magnitude'].records[0].original_bits / 8192:.2f}", f"{base_test:.2f}"],
                    ["uncompressed fp32", n_weights * 32, f"{n_weights * 32 / 8192:.2f}", f"{base_test:.2f}"]]
                   + [[f"{r['run']} ({r['budget']}, {r['format']})",
                       result.runs[r["run"]].records[r["position"]].compressed_bits,
                       f"{result.runs[r['run']].records[r['position']].compressed_bits / 8192:.2f}", _pct(r["test_accuracy"]).rstrip("%")]
                      for r in head if r["family"] in MODEL_FAMILIES], markdown=True), "",
             "## Exponent histograms per layer (Fig. 2 / Fig. 8 style)", "", "![histograms](exponent_histograms.png)", "",
             "## Every run, every iteration", ""]
    for name, run in result.runs.items():
        lines += [f"### {name} ({run.format})", "", _run_table(run), ""]
    (out / "report.md").write_text("\n".join(lines))
    doc = {"config": cfg.to_dict(), "baseline_accuracy": base, "baseline_test_accuracy": base_test,
           "selection": "validation (500 digits)", "report": "test (1,000 digits)", "seconds": result.seconds, "headline": head,
           "runs": {n: r.to_dict() for n, r in result.runs.items()}, "baselines": [b.to_dict() for b in result.baselines]}
    (out / "study.json").write_text(json.dumps(doc, indent=1, sort_keys=True, default=_json_default))


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"not JSON-able: {type(value)}")
