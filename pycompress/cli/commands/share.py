"""CLI: `share` (weight sharing v2: pruning, codebook fine-tuning, entropy-coded indices; issue 25)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pycompress.cli.main import MODEL_HELP
from pycompress.core.errors import PycompressError


def float_list(lo: float, hi: float, what: str):
    """An argparse type: comma-separated numbers in lo..hi (a clear usage error otherwise)."""
    def parse(value: str) -> tuple[float, ...]:
        try:
            out = tuple(float(v) for v in value.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what}: comma-separated numbers, not {value!r}") from None
        if not out or any(not lo <= x <= hi for x in out):
            raise argparse.ArgumentTypeError(f"{what}: give numbers in {lo:g}..{hi:g}")
        return out
    return parse


def _ints(value: str) -> tuple[int, ...]:
    try:
        out = tuple(sorted({int(v) for v in value.split(",") if v.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--ks: comma-separated integers, not {value!r}") from None
    if not out or any(not 2 <= k <= 256 for k in out):
        raise argparse.ArgumentTypeError("--ks: every k in 2..256")
    return out


def cmd_share(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from pycompress.core import container
    from pycompress.core.fileio import OutputFolder, atomic_directory, check_output
    from pycompress.frontends import load_model
    from pycompress.frontends.evaluator import task_for
    from pycompress.frontends.lenet import torch_threads
    from pycompress.sharing.finetune import TrainConfig
    from pycompress.sharing.kfold import run_folds
    from pycompress.sharing.share import ShareConfig, run_share, with_info
    from pycompress.sharing.share_report import REPORT_NAMES, chosen_models, report_files

    if not args.output.endswith(".pcz"):
        raise PycompressError(f"{args.output}: output must end in .pcz")
    check_output(args.output, inputs=[args.model], force=args.force)
    if args.report:
        check_output(args.report, inputs=[args.model], folder=OutputFolder("share report", "share.json", REPORT_NAMES))
    train = TrainConfig(lr=args.lr, codebook_lr=args.codebook_lr, batch=args.batch, distill=args.distill,
                        temperature=args.temperature, shift=args.shift)
    base = ShareConfig()
    cfg = ShareConfig(max_drops=args.max_drop, confidence=args.confidence, prune_grid=args.prune_grid or base.prune_grid,
                      ks=args.ks or base.ks, prune_levels=args.prune_budgets or base.prune_levels,
                      k_levels=args.k_budgets or base.k_levels, steps=args.steps, step_epochs=args.step_epochs,
                      final_epochs=args.final_epochs, codebook_epochs=args.codebook_epochs, stop_drop=args.stop_drop,
                      plan_items=args.plan_items, plan_inputs=args.plan_inputs, selection=args.selection,
                      codebook_format=args.codebook_format, seed=args.seed, train=train)
    model = load_model(args.model)
    if not model.trainable:
        raise PycompressError(f"{args.model}: `share` fine-tunes the model itself: pass the built-in LeNet's weights, or "
                              "the torch.export program (.pt2) or ONNX model it came from")
    task = task_for(model, args.data, "share")
    if args.folds > 1 and not (model.lenet and args.data in (None, "mnist5k")):
        raise PycompressError(f"{args.model}: --folds trains an original for every extra fold with the model's own "
                              "recipe, and only the built-in LeNet on its own data (mnist5k) has one here; leave "
                              "--folds out to choose on the one validation part")
    start = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f}s] {message}", file=sys.stderr, flush=True)

    if args.folds > 1:
        result = run_folds(task.data, args.folds, cfg, model.graph, args.jobs, model.state_dict)
    else:
        with torch_threads(1, deterministic=True):
            result = run_share(model.state_dict, task, cfg, say, graph=model.graph)
    primary = cfg.max_drops[0]
    head = result.chosen("entropy", primary)
    if head is None:
        raise PycompressError(f"no configuration's {result.bound_name} on the drop ({result.selected_on}) "
                              f"meets --max-drop {primary:g} ({len(result.candidates)} candidates; selection "
                              f"{result.rule.name}" + (": the walk's first rung already fails)" if result.rule.walk else ")"))
    source = Path(args.model).name
    cm = with_info(head, result, primary, source)
    if cm.graph is None and model.graph is not None:
        cm = replace(cm, graph=model.graph)
    container.save(cm, args.output)
    reread = container.load(args.output).state_dict()
    from pycompress.sharing.share_sensitivity import Judge

    val, test = Judge(task, model.state_dict).both(reread)
    if (val.correct, test.correct) != (head.val.correct, head.test.correct):
        raise PycompressError(f"internal error: {args.output} re-evaluates to {val.accuracy:.2f}% / {test.accuracy:.2f}%, "
                              f"the search measured {head.val.accuracy:.2f}% / {head.test.accuracy:.2f}%")
    if args.report:
        command = args.report_command or "pycompress " + " ".join(sys.argv[1:])
        with atomic_directory(args.report) as tmp:
            for name, data in report_files(result, command, chosen_models(result, source)).items():
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                (tmp / name).write_bytes(data)
    bv, bt = result.baseline_val, result.baseline_test
    if args.report:
        print(f"report in {args.report}")
    for d in cfg.max_drops[1:]:
        c = result.chosen("entropy", d)
        print(f"max drop {d:g}: " + ("none within the bound" if c is None else
              f"{c.rate:.2f}x, test {c.test.accuracy:.2f}% ({c.test.accuracy - bt.accuracy:+.2f}), {c.label}"))
    sel = result.selection(head)
    print("per layer: " + ", ".join(f"{n}=p{r:g}/k{k}" for n, r, k in zip(result.names, head.ratios, head.ks)))
    print(f"{args.output}: {head.rate:.2f}x smaller than FP32 ({head.file_bytes:,} bytes of weights, codebooks and code "
          f"tables); test {bt.accuracy:.2f}% -> {head.test.accuracy:.2f}% ({head.test.accuracy - bt.accuracy:+.2f}); chosen on "
          f"{result.selected_on}, selection {result.rule.name}: drop {sel.drop:+.2f}, {result.bound_name} {result.bound(sel):.2f} "
          f"<= {primary:g} (this model's own validation {bv.accuracy:.2f}% -> {head.val.accuracy:.2f}%; re-evaluated from "
          "the file)")
    return 0


def register(sub) -> None:
    from pycompress.cli.main import add_data_option, nonnegative_int, positive_float, positive_int
    from pycompress.sharing.share_config import AUTO_RULES, PLAN_INPUTS, RULES, SELECTIONS, ShareConfig as d, TrainConfig as t  # class defaults: no torch
    p = sub.add_parser("share", help="weight sharing v2: prune, cluster, fine-tune codebooks, entropy-code the indices; "
                                     "chosen on validation by a confidence bound")
    p.add_argument("model", help=MODEL_HELP + " (trainable: the built-in LeNet, a .pt2 or an ONNX model)")
    p.add_argument("-o", "--output", required=True, help="output .pcz: the entropy-coded choice under the first --max-drop")
    p.add_argument("--max-drop", type=float_list(0, 100, "--max-drop"), default=d.max_drops,
                   help="accuracy-drop bounds in points, comma-separated; the first is the one -o gets (default 0.5)")
    p.add_argument("--confidence", type=float, default=None,
                   help="one-sided confidence of the selection rule's bound (default: the rule's own, "
                        + ", ".join(f"{r.name} {r.confidence:g}" for r in RULES.values()) + ")")
    p.add_argument("--codebook-format", choices=("fp32", "bf16"), default=d.codebook_format,
                   help=f"codebook storage (default {d.codebook_format})")
    p.add_argument("--prune-grid", type=float_list(0, 0.999, "--prune-grid"), help="pruning ratios of the sensitivity analysis")
    p.add_argument("--ks", type=_ints, help="codebook sizes of the sensitivity analysis (a pruned layer's zero counts)")
    p.add_argument("--prune-budgets", type=float_list(0, 1e6, "--prune-budgets"),
                   help="pruning ladder: budgets of summed one-layer validation drops, points")
    p.add_argument("--k-budgets", type=float_list(0, 1e6, "--k-budgets"), help="codebook plans: budgets, the same way")
    p.add_argument("--steps", type=positive_int, default=d.steps, help=f"pruning steps per rung (default {d.steps})")
    p.add_argument("--step-epochs", type=nonnegative_int, default=d.step_epochs, help=f"epochs per pruning step (default {d.step_epochs})")
    p.add_argument("--final-epochs", type=nonnegative_int, default=d.final_epochs, help=f"more epochs after a rung's last step (default {d.final_epochs})")
    p.add_argument("--codebook-epochs", type=nonnegative_int, default=d.codebook_epochs,
                   help=f"codebook fine-tuning epochs (default {d.codebook_epochs})")
    p.add_argument("--plan-items", type=positive_int, default=None,
                   help="inputs the plans' disagreement with the original is measured on: the first this many of "
                        "--plan-inputs (default: all)")
    p.add_argument("--plan-inputs", choices=PLAN_INPUTS, default=d.plan_inputs,
                   help="the inputs the plans measure disagreement on: validation+train (validation first), or train "
                        f"only, which keeps the inputs the bound counts on unseen by the plans (default {d.plan_inputs})")
    p.add_argument("--stop-drop", type=float, default=d.stop_drop,
                   help=f"stop the ladder after a rung losing more (validation, before clustering; default {d.stop_drop:g})")
    p.add_argument("--lr", type=positive_float, default=t.lr, help=f"masked fine-tuning learning rate (default {t.lr:g})")
    p.add_argument("--codebook-lr", type=positive_float, default=t.codebook_lr, help=f"codebook learning rate (default {t.codebook_lr:g})")
    p.add_argument("--batch", type=positive_int, default=t.batch, help=f"batch size (default {t.batch})")
    p.add_argument("--distill", type=float, default=t.distill,
                   help=f"weight of distillation from the original model, 0..1 (default {t.distill:g})")
    p.add_argument("--temperature", type=positive_float, default=t.temperature, help=f"distillation temperature (default {t.temperature:g})")
    p.add_argument("--shift", type=nonnegative_int, default=t.shift, help=f"+-pixels of random shifts of image batches (default {t.shift})")
    p.add_argument("--seed", type=nonnegative_int, default=d.seed, help="training seed")
    p.add_argument("--folds", type=positive_int, default=1,
                   help="choose on K folds of the non-test data: fold 0 is the model as given, each other fold trains an "
                        "original by the recipe without its validation block and runs the same search; the labels' paired "
                        "counts are pooled (built-in LeNet only; default 1: the one validation part)")
    p.add_argument("--selection", choices=SELECTIONS, default=d.selection,
                   help="how the bound chooses: 'largest' takes the most compressed candidate whose confidence bound on "
                        "the drop meets --max-drop; 'ladder' walks up the pruning rungs (smallest codebook budget) while "
                        "the prediction bound on the drop a test-sized part would show meets it, stops at the first that "
                        "fails (fixed-sequence testing: the confidence holds over the whole walk) and takes the most "
                        f"compressed rung passed; 'auto' (default): {AUTO_RULES[True]} with --folds, {AUTO_RULES[False]} "
                        "on one validation part")
    p.add_argument("--jobs", type=positive_int, default=1, help="processes the folds run in, one thread each (default 1)")
    p.add_argument("--report", help="write the report folder (README.md, share.json, PNGs, models/*.pcz)")
    p.add_argument("--report-command", help=argparse.SUPPRESS)
    p.add_argument("--force", action="store_true", help="allow -o to be the input file (replaced in place)")
    add_data_option(p)
    p.set_defaults(func=cmd_share)
