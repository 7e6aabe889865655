"""Lossy commands: approximate (Alg. 1/2), mantissa (Sec. 4.1.3), esart (Alg. 4), study (the whole report)."""
from __future__ import annotations

import argparse
from pathlib import Path

from pycompress.cli.main import (MODEL_HELP, add_data_option, add_force_option, add_format_option, load_any_state_dict, nonnegative_int,
    positive_float, positive_int)
from pycompress.core.errors import PycompressError


def _output(path: str, args: argparse.Namespace | None = None) -> str:
    from pycompress.core.fileio import check_output

    if not path.endswith(".pcz"):
        raise PycompressError(f"{path}: output must end in .pcz")
    if args is not None:
        check_output(path, inputs=[args.model], force=args.force)
    return path


def _thresholds(args):
    from pycompress.lossy.iterative import Thresholds

    if args.max_drop < 0:
        raise PycompressError(f"--max-drop must be >= 0, got {args.max_drop}")
    return Thresholds(max_drop=args.max_drop, min_saving=args.min_saving)


def _task(args, command: str):
    """(model, task, its validation accuracy (selects), the test-accuracy arguments (reported))."""
    from pycompress.frontends.evaluator import task_for
    from pycompress.frontends import load_model

    model = load_model(args.model)
    task = task_for(model, args.data, command)
    sd = model.state_dict
    return model, task, task.eval_fn(sd), {"test_fn": task.test_fn, "baseline_test_accuracy": task.test_fn(sd)}


def _schedule(args):
    from pycompress.lossy.mantissa import bits_schedule, decimal_schedule

    extra = {}
    if args.exponent:
        extra = {"exponent_method": args.exponent, "saliency": args.saliency, "index_bits": args.index_bits}
    if args.variant == "decimal":
        return decimal_schedule(args.format, args.start, args.stop, **extra)
    return bits_schedule(args.format, args.start, args.stop, **extra)


def _save(result, args, model) -> int:
    from dataclasses import replace

    from pycompress.core import container
    from pycompress.lossy.iterative import finalize

    cm = finalize(result, Path(args.model).name)
    if cm.graph is None and model.graph is not None:  # same tensors as the input: its layer graph still holds
        cm = replace(cm, graph=model.graph)
    container.save(cm, args.output)
    rec = result.best_record
    test = "" if rec.test_accuracy is None else (f"; test accuracy {rec.test_accuracy:.2f}% "
                                                 f"(uncompressed {result.baseline_test_accuracy:.2f}%)")
    print(f"{args.output}: {result.method} iteration {rec.iteration} ({rec.label}), chosen on validation: accuracy "
          f"{rec.accuracy:.2f}% (uncompressed {result.baseline_accuracy:.2f}%){test}, {rec.savings_pct:.2f}% memory saved "
          f"vs {result.format} ({rec.savings_fp32_pct:.2f}% vs fp32)")
    return 0


def cmd_approximate(args: argparse.Namespace) -> int:
    from pycompress.lossy.iterative import iterative_approximation
    from pycompress.frontends.lenet import torch_threads

    _output(args.output, args)
    if args.max_iterations < 1:
        raise PycompressError(f"--max-iterations must be >= 1, got {args.max_iterations}")
    thresholds = _thresholds(args)
    model, task, base, judged = _task(args, "approximate")
    with torch_threads(1):
        result = iterative_approximation(model.state_dict, args.format, args.method, args.saliency, task.eval_fn, base,
                                         thresholds, args.max_iterations, keep_models="best", **judged)
    return _save(result, args, model)


def cmd_mantissa(args: argparse.Namespace) -> int:
    from pycompress.lossy.mantissa import mantissa_approximation
    from pycompress.frontends.lenet import torch_threads

    _output(args.output, args)
    schedule, thresholds = _schedule(args), _thresholds(args)
    model, task, base, judged = _task(args, "mantissa")
    with torch_threads(1):
        result = mantissa_approximation(model.state_dict, args.format, schedule, task.eval_fn, base, thresholds,
                                        keep_models="best", **judged)
    return _save(result, args, model)


def cmd_esart(args: argparse.Namespace) -> int:
    import torch

    from pycompress.lossy.esart import EsartConfig, esart
    from pycompress.frontends.lenet import torch_threads

    _output(args.output, args)
    schedule = _schedule(args)
    config = EsartConfig(format=args.format, epochs=args.epochs, projection=args.projection, thresholds=_thresholds(args))
    model, task, _, _ = _task(args, "esart")
    if not model.trainable and model.kind == "export":
        raise PycompressError(f"{args.model}: `esart` fine-tunes the model, but its program runs only as it is "
                              f"({model.graph_note}); approximate and mantissa work on it")
    if not model.trainable:
        raise PycompressError(f"{args.model}: `esart` fine-tunes the model itself: pass the torch.export program (.pt2) "
                              "or ONNX model it came from (a .pcz graph has no training form)")
    train = task.training(args.seed, args.batch, args.lr)
    torch.manual_seed(args.seed)
    with torch_threads(1, deterministic=True):
        result = esart(task.build(model.state_dict), train.loader, train.evaluate, train.optimizer_factory, schedule,
                       config, report=train.report, keep_models="best", in_place=True)
    return _save(result, args, model)


def cmd_study(args: argparse.Namespace) -> int:
    from pycompress.cli.demo import default_model
    from pycompress.frontends.shipped import LENET_WEIGHTS
    from pycompress.lossy.study import StudyConfig, run_study
    from pycompress.lossy.study_report import write_study

    from pycompress.core.fileio import OutputFolder, check_output

    out = check_output(args.output, inputs=[args.model] if args.model else [],
                       folder=OutputFolder("study report", key_file="report.md",
                                           names=("report.md", "study.json", "models", "*.png")))
    try:  # fail before the study runs, not after
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PycompressError(f"{out}: cannot create its folder ({exc.strerror})") from None
    sd = load_any_state_dict(args.model) if args.model else default_model()
    result = run_study(sd, StudyConfig(format=args.format, epochs=args.epochs, quick=args.quick))
    try:
        out = write_study(result, out, Path(args.model).name if args.model else LENET_WEIGHTS.name)
    except OSError as exc:
        raise PycompressError(f"{out}: cannot write the report ({exc.strerror})") from None
    print(f"{out}/report.md written ({result.seconds:.0f} s)")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help=MODEL_HELP + " (a state_dict only if LeNet-shaped)")
    p.add_argument("-o", "--output", required=True, help="output .pcz (the last successful iteration)")
    add_data_option(p)
    add_format_option(p)
    p.add_argument("--max-drop", type=float, default=10.0, help="a_d: stop when accuracy drops by more (points, default 10)")
    p.add_argument("--min-saving", type=float, default=0.0, help="m_s: stop when memory saved is <= this (%%, default 0)")
    add_force_option(p)


def _constraint_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--variant", choices=("decimal", "bits"), default="decimal",
                   help="decimal digits k (paper) or top m' mantissa bits, round to nearest even (default decimal)")
    p.add_argument("--start", type=int, default=None, help="first k (default floor(log10 2^m)) or m' (default m-1)")
    p.add_argument("--stop", type=int, default=0, help="last k or m' (default 0)")
    p.add_argument("--exponent", choices=("a1", "a2", "a3"), default=None, help="also cap exponents per layer by this method")
    p.add_argument("--saliency", choices=("magnitude", "frequency"), default="magnitude")
    p.add_argument("--index-bits", type=int, default=2, help="exponent cap: at most 2^N exponents per layer (default 2)")


def register(sub) -> None:
    p = sub.add_parser("approximate", help="exponent-based weight approximation A1/A2/A3 (Algorithms 1, 2) into a .pcz")
    _common(p)
    p.add_argument("--method", choices=("a1", "a2", "a3"), default="a2")
    p.add_argument("--saliency", choices=("magnitude", "frequency"), default="magnitude")
    p.add_argument("--max-iterations", type=positive_int, default=16)
    p.set_defaults(func=cmd_approximate)

    p = sub.add_parser("mantissa", help="iterative mantissa approximation without retraining (decimal digits or bits)")
    _common(p)
    _constraint_options(p)
    p.set_defaults(func=cmd_mantissa)

    p = sub.add_parser("esart", help="exponent-share aware retraining (Algorithm 4): fine-tunes the model (.pt2, .onnx or LeNet) on the training data")
    _common(p)
    _constraint_options(p)
    p.add_argument("--epochs", type=positive_int, default=2, help="training epochs per iteration (default 2)")
    p.add_argument("--projection", choices=("epoch", "ste"), default="epoch",
                   help="constrain weights before each epoch (paper) or every step, straight-through (default epoch)")
    p.add_argument("--lr", type=positive_float, default=1e-4)
    p.add_argument("--batch", type=positive_int, default=64)
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.set_defaults(func=cmd_esart)

    p = sub.add_parser("study", help="the whole lossy study on the default LeNet: Markdown report, PNG figures, JSON, models")
    p.add_argument("-o", "--output", default="reports/lenet", help="report folder (default reports/lenet)")
    p.add_argument("--model", default=None, help="LeNet state_dict (default: the shipped pycompress/models/lenet5_mnist.safetensors)")
    add_format_option(p)
    p.add_argument("--epochs", type=positive_int, default=2, help="ESART epochs per iteration (default 2)")
    p.add_argument("--quick", action="store_true", help="reduced study (tests): 1 epoch on 1,000 digits, 2 ESART iterations")
    p.set_defaults(func=cmd_study)
