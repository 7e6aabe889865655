"""CLI: `cluster`, `sensitivity`, `explore` (weight sharing by clustering, DDECS'20)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pycompress.cli.main import MODEL_HELP, add_force_option, nonnegative_int, positive_int
from pycompress.core.errors import PycompressError


def _progress(start: float):
    def say(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f}s] {message}", file=sys.stderr, flush=True)
    return say


def _k_arg(value: str) -> int:
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"k must be an integer, not {value!r}") from None
    if not 2 <= k <= 256:
        raise argparse.ArgumentTypeError(f"k must be in 2..256, not {k}")
    return k


def _ks_arg(value: str) -> tuple[int, ...]:
    ks = tuple(sorted({_k_arg(v) for v in value.split(",") if v.strip()}))
    if not ks:
        raise argparse.ArgumentTypeError("give at least one k, e.g. --ks 4,8,16")
    return ks


SENSITIVITY_NAMES = ("sensitivity.json", "sensitivity.png", "sensitivity.md")
EXPLORE_NAMES = SENSITIVITY_NAMES + ("explore.json", "pareto.png", "README.md")


def _pcz_output(path: str, args: argparse.Namespace) -> None:
    from pycompress.core.fileio import check_output

    if not path.endswith(".pcz"):
        raise PycompressError(f"{path}: output must end in .pcz")
    check_output(path, inputs=[args.model], force=args.force)


def _report_folder(path: str, args: argparse.Namespace, what: str, names: tuple[str, ...]) -> None:
    from pycompress.core.fileio import OutputFolder, check_output

    check_output(path, inputs=[args.model], folder=OutputFolder(what, key_file=names[0], names=names))


def _model_task(path: str, data: str | None, command: str):
    """(frontends.LoadedModel, evaluator.Task): the model and what its accuracy is measured on."""
    from pycompress.frontends.evaluator import task_for
    from pycompress.frontends import load_model

    model = load_model(path)
    return model, task_for(model, data, command)


def _load(path: str) -> dict:
    from pycompress.cli.main import load_any_state_dict

    return load_any_state_dict(path)


def cmd_cluster(args: argparse.Namespace) -> int:
    from pycompress.core import container
    from pycompress.sharing.cluster import cluster_state_dict, sharing_stats
    from pycompress.core.report import table

    _pcz_output(args.output, args)
    from pycompress.frontends import load_model

    loaded = load_model(args.model)  # a .pcz or .pt2 keeps its layer graph
    sd, graph = loaded.state_dict, loaded.graph
    cm = cluster_state_dict(sd, args.k, args.codebook_format, method=args.method, graph=graph,
                            info={"source": Path(args.model).name, "method": "weight sharing by clustering (DDECS'20)",
                                  "k": args.k, "codebook_format": args.codebook_format})
    container.save(cm, args.output)
    st = sharing_stats(cm)
    rows = [[s.name, s.n, s.k, s.index_bits, s.stored_bits, f"{s.rate(32):.2f}x", f"{s.rate(16):.2f}x"] for s in st.layers]
    rows.append(["weights", st.n, "", "", st.stored_bits, f"{st.rate(32):.2f}x", f"{st.rate(16):.2f}x"])
    print(table(["layer", "N", "k", "index bits", "stored bits", "vs FP32", "vs BF16"], rows))
    print(f"{args.output}: {len(cm.tensors)} weight tensors clustered (k <= {args.k}, {args.codebook_format} codebook); "
          f"whole model with biases {st.rate_all(32):.2f}x vs FP32")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from pycompress.sharing.sensitivity import (LayerCache, ModelEvaluator, run_sensitivity, sensitivity_files,
        sensitivity_markdown, write_dir_atomic)

    _report_folder(args.output, args, "sensitivity report", SENSITIVITY_NAMES)
    say = _progress(time.perf_counter())
    part, data = args.part, args.data
    if data in ("validation", "test"):  # the former meaning of --data, kept
        part, data = data, None
    model, task = _model_task(args.model, data, "sensitivity")
    sd = model.state_dict
    cache = LayerCache(sd, args.codebook_format, method=args.method, progress=say, k_max=max(args.ks))
    sens = run_sensitivity(cache, ModelEvaluator(sd, part, task), args.ks, say)
    write_dir_atomic(args.output, sensitivity_files(sens))
    print(sensitivity_markdown(sens))
    print(f"{args.output}: sensitivity.json, sensitivity.png, sensitivity.md")
    return 0


def cmd_explore(args: argparse.Namespace) -> int:
    from pycompress.core import container
    from pycompress.sharing.explore import ExploreConfig, chosen_model, explore, label, verify_written
    from pycompress.sharing.explore_report import report_files
    from pycompress.sharing.sensitivity import write_dir_atomic

    from pycompress.core.fileio import check_output

    _pcz_output(args.output, args)
    if args.report:
        _report_folder(args.report, args, "explore report", EXPLORE_NAMES)
    start = time.perf_counter()
    say = _progress(start)
    storage = args.storage or f"sqlite:///{Path(args.output).with_suffix('.optuna.db')}"
    if args.storage is None:  # the study database beside the output: ours (an earlier study resumes) or absent
        from pycompress.core.fileio import create_sqlite

        db = Path(args.output).with_suffix(".optuna.db")
        check_output(db, inputs=[args.model], side=True)
        if not db.exists():
            create_sqlite(db)
    cfg = ExploreConfig(max_drop=args.max_drop, trials=args.trials, population=args.population, seed=args.seed,
                        ks=args.ks, codebook_format=args.codebook_format, allow_expshare=not args.no_expshare,
                        storage=storage, study_name=args.study_name, method=args.method)
    from pycompress.sharing.explore_storage import WorkerConfig

    workers = WorkerConfig(jobs=args.jobs, worker=args.worker, heartbeat=args.heartbeat)
    model, task = _model_task(args.model, args.data, "explore")
    sd = model.state_dict
    from dataclasses import replace

    if args.data is not None and args.study_name is None:  # a resumed study must have measured on the same data
        from pycompress.sharing.explore import default_study_name

        cfg = replace(cfg, study_name=f"{default_study_name(sd, cfg)}-{task.data.name}")
    result, cache = explore(sd, cfg, say, workers, task)
    chosen = chosen_model(result, cache)
    if chosen.graph is None and model.graph is not None:  # same tensors as the input: its layer graph still holds
        chosen = replace(chosen, graph=model.graph)
    container.save(chosen, args.output)
    verified = verify_written(args.output, result, task)
    c = result.chosen
    if args.report:
        command = args.report_command or "pycompress " + " ".join(sys.argv[1:])
        write_dir_atomic(args.report, report_files(result, verified, command))
    say(f"done: {len(result.points)} configurations evaluated")
    print(f"{args.output}: {c.rate_fp32:.2f}x vs FP32 ({c.rate_bf16:.2f}x vs BF16); test digits "
          f"{result.baseline_test_accuracy:.2f}% -> {result.test_of(c):.2f}%; chosen on validation "
          f"{result.baseline_accuracy:.2f}% -> {c.accuracy:.2f}% (drop {result.baseline_accuracy - c.accuracy:.2f} <= "
          f"{cfg.max_drop:g}; re-evaluated from the file: {verified:.2f}%)")
    print("per layer: " + ", ".join(f"{n}={label(x)}" for n, x in zip(result.names, c.config)))
    print(f"study {result.study_name!r} in {storage}" + (f"; report in {args.report}" if args.report else ""))
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help=MODEL_HELP + " (sensitivity and explore: a state_dict only if LeNet-shaped)")
    p.add_argument("--codebook-format", choices=("fp32", "bf16"), default="fp32", help="codebook storage (default fp32)")
    p.add_argument("--method", choices=("auto", "dp", "kmeans"), default="auto",
                   help="exact DP (auto: where the table fits) or k-means++ with a fixed seed")


def register(sub) -> None:
    from pycompress.cli.main import add_data_option
    from pycompress.sharing.defaults import DEFAULT_KS, EXPLORE_POPULATION, EXPLORE_SEED, EXPLORE_TRIALS

    grid = ",".join(map(str, DEFAULT_KS))
    p = sub.add_parser("cluster", help="weight sharing: cluster every weight tensor into k shared values (.pcz)")
    _common(p)
    p.add_argument("--k", type=_k_arg, required=True, help="shared values per layer, 2..256")
    p.add_argument("-o", "--output", required=True, help="output .pcz")
    add_force_option(p)
    p.set_defaults(func=cmd_cluster)

    p = sub.add_parser("sensitivity", help="per-layer accuracy vs k, one layer clustered at a time (JSON + PNG)")
    _common(p)
    p.add_argument("--ks", type=_ks_arg, default=DEFAULT_KS, help=f"comma-separated k grid (default {grid})")
    p.add_argument("--part", choices=("validation", "test"), default="validation",
                   help="part of the data to measure on (default validation, what exploration selects on)")
    add_data_option(p)
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("explore", help="choose k (or exponent sharing) per layer: max compression within an accuracy bound")
    _common(p)
    p.add_argument("--max-drop", type=float, default=0.5, help="accuracy loss bound in points (default 0.5)")
    p.add_argument("--trials", type=nonnegative_int, default=EXPLORE_TRIALS,
                   help=f"NSGA-II trials added by this run (default {EXPLORE_TRIALS}; 0: greedy only)")
    p.add_argument("--population", type=positive_int, default=EXPLORE_POPULATION,
                   help=f"NSGA-II population size (default {EXPLORE_POPULATION})")
    p.add_argument("--seed", type=nonnegative_int, default=EXPLORE_SEED, help="NSGA-II seed (0..2^32-1)")
    p.add_argument("--ks", type=_ks_arg, default=DEFAULT_KS, help=f"comma-separated k grid (default {grid})")
    p.add_argument("--no-expshare", action="store_true", help="clustering only (no lossless exponent sharing per layer)")
    p.add_argument("--storage", help="Optuna storage URL (default sqlite:///OUT.optuna.db beside the output); "
                                     "e.g. postgresql://user:pass@host/db to share one study between machines")
    p.add_argument("--study-name", help="study name (default derived from the model and settings)")
    p.add_argument("--jobs", type=positive_int, default=1, help="run the trials in N worker processes forked after loading (default 1)")
    p.add_argument("--worker", help="this worker's name in the study's trials (default host:pid)")
    p.add_argument("--heartbeat", type=positive_int, default=30,
                   help="seconds between trial heartbeats; a trial silent for 3x this is failed and retried once (default 30)")
    p.add_argument("-o", "--output", required=True, help="output .pcz of the chosen configuration")
    add_force_option(p)
    p.add_argument("--report", help="write the report folder (Markdown, PNG, JSON)")
    p.add_argument("--report-command", help=argparse.SUPPRESS)
    add_data_option(p)
    p.set_defaults(func=cmd_explore)
