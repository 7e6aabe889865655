"""`torch.export` programs (`.pt2`): loaded without running pickled code, rebuilt as an nn.Module.

`torch.export.load` unpickles with `weights_only=False` in several places (weights or
constants flagged `use_pickle`, custom and opaque objects, a fallback for example inputs),
so a hostile `.pt2` could run code. `safe_load` runs it with every unpickling path forced
to `weights_only=True` and the raw `pickle.loads` refused: such a file fails with one line.

`ExportedProgram.module()` is not usable as it is: its batch size is fixed to the example
inputs' (a guard fails on any other batch) and it refuses `.train()`, which ESART needs. So
the program's ATen graph is rebuilt, op by op, as an fx GraphModule of ordinary torch layers
(`nn.Conv2d`, `nn.Linear`, ...) at the parameters' own names, and checked against
`ExportedProgram.module()` on the program's example inputs. An op with no rebuild is one line
naming it.
"""
from __future__ import annotations

import logging
import operator
import pickle
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn

from pycompress.core.errors import PycompressError

aten = torch.ops.aten


@contextmanager
def _no_pickled_code() -> Iterator[None]:
    """Every `torch.load` inside is weights_only=True; `pickle.loads` and TorchScript object loads refuse."""
    real_load, real_loads, real_obj = torch.load, pickle.loads, torch._C._pickle_load_obj

    def load(*args, **kwargs):
        kwargs["weights_only"] = True
        return real_load(*args, **kwargs)

    def refuse(*args, **kwargs):
        raise pickle.UnpicklingError("refused: the program holds pickled objects (weights_only loading only)")

    torch.load, pickle.loads, torch._C._pickle_load_obj = load, refuse, refuse
    try:
        yield
    finally:
        torch.load, pickle.loads, torch._C._pickle_load_obj = real_load, real_loads, real_obj


@contextmanager
def _torch_quiet() -> Iterator[list[logging.LogRecord]]:
    """torch.export's multi-line warnings and logged tracebacks kept from the terminal (the failure is one line);
    the records are yielded so that the cause can be named."""
    logger, records = logging.getLogger("torch.export"), []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handlers, propagate = logger.handlers, logger.propagate
    logger.handlers, logger.propagate = [Keep()], False  # torch's logging setup attaches its own handlers here
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield records
    finally:
        logger.handlers, logger.propagate = handlers, propagate


def safe_load(path: Path) -> torch.export.ExportedProgram:
    """`torch.export.load` of a regular file, no pickled code run; one line on any failure."""
    if not zipfile.is_zipfile(path):
        raise PycompressError(f"{path}: not a torch.export program (.pt2 is a zip archive written by torch.export.save)")
    try:
        with _no_pickled_code(), _torch_quiet() as logged:
            return torch.export.load(str(path))
    except Exception as exc:  # torch raises many kinds for a corrupt or hostile archive
        cause = next((r.exc_info[1] for r in reversed(logged) if r.exc_info and r.exc_info[1]), exc)
        text = str(cause).replace("(Could this error message be improved?", "\n").strip().splitlines()
        first = text[0].strip()[:200] if text else type(cause).__name__  # the cause, not "see the warnings above"
        if isinstance(exc, pickle.UnpicklingError) or "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise PycompressError(f"{path}: refused to load: the program holds pickled objects, not only tensors") from None
        raise PycompressError(f"{path}: not a readable torch.export program ({first})") from None


class Refused(PycompressError):
    """A model file refused outright (it declares more than the limits allow): never run as it is either."""


class RebuildMismatch(Refused):
    """The rebuilt module computes something else than the program: a bug in a rebuild, never run around."""


@dataclass(frozen=True)
class Rebuilt:
    """The program as an ordinary module, its input shape (C, H, W) or (N,), and its state_dict keys."""

    module: nn.Module
    input_shape: tuple[int, ...]


def _shape(node) -> tuple[int, ...]:
    val = node.meta.get("val")
    return tuple(int(d) for d in val.shape) if hasattr(val, "shape") else ()


def _ints(v, n: int = 2) -> tuple[int, ...]:
    return tuple(int(x) for x in v) if isinstance(v, (list, tuple)) else (int(v),) * n


class _Builder:
    """Maps each supported ATen node to a torch layer whose parameters sit at the program's own names."""

    def __init__(self, ep: torch.export.ExportedProgram, path: Path) -> None:
        self.path = path
        self.params = dict(ep.state_dict)
        self.params.update({k: v for k, v in ep.constants.items() if isinstance(v, torch.Tensor)})
        self.fqn: dict[str, str] = {}  # placeholder name -> parameter/buffer name
        self.user_inputs: list = []
        for spec in ep.graph_signature.input_specs:
            if spec.kind.name in ("PARAMETER", "BUFFER", "CONSTANT_TENSOR"):
                self.fqn[spec.arg.name] = spec.target
            elif spec.kind.name == "USER_INPUT":
                self.user_inputs.append(spec.arg.name)
            else:
                raise PycompressError(f"{path}: program input {spec.arg.name!r} of kind {spec.kind.name} is not supported")
        self.root = nn.Module()
        self.used: set[str] = set()

    def _param(self, node, what: str) -> torch.Tensor | None:
        if node is None:
            return None
        name = self.fqn.get(getattr(node, "name", None))
        if name is None:
            raise PycompressError(f"{self.path}: {what} is computed in the program, not a stored parameter; not supported")
        return self.params[name]

    def _place(self, node, names: list, fallback: str, module: nn.Module) -> str:
        """Register `module` at the prefix its parameters share (conv1.weight -> conv1), else under the node name."""
        keys = [self.fqn.get(getattr(n, "name", None)) for n in names if n is not None]
        prefixes = {k.rpartition(".")[0] for k in keys if k}
        target = prefixes.pop() if len(prefixes) == 1 and "" not in prefixes and not prefixes & self.used else fallback
        if target in self.used or any(k in self.used for k in keys):
            raise PycompressError(f"{self.path}: node {fallback}: a parameter used by two layers is not supported")
        self.used.add(target)
        parent = self.root
        parts = target.split(".")
        for p in parts[:-1]:
            if not hasattr(parent, p):
                parent.add_module(p, nn.Module())
            parent = getattr(parent, p)
        parent.add_module(parts[-1], module)
        return target

    def layer(self, node) -> tuple[str, nn.Module | None, list] | None:
        """(kind, module, inputs) for a node: kind "module" (call it), "add", "same" (identity)."""
        t, a = node.target, node.args
        if t in (aten.conv2d.default, aten.conv2d.padding):
            w, b = self._param(a[1], "a conv weight"), self._param(a[2] if len(a) > 2 else None, "a conv bias")
            stride = _ints(a[3]) if len(a) > 3 else (1, 1)
            pad = (a[4] if t is aten.conv2d.padding else _ints(a[4])) if len(a) > 4 else (0, 0)  # or "same"/"valid"
            dil = _ints(a[5]) if len(a) > 5 else (1, 1)
            groups = int(a[6]) if len(a) > 6 else 1
            m = nn.Conv2d(w.shape[1] * groups, w.shape[0], tuple(w.shape[2:]), stride, pad, dil, groups, bias=b is not None)
            return self._with(m, node, a[1:3], {"weight": w, "bias": b})
        if t is aten.linear.default:
            w, b = self._param(a[1], "a linear weight"), self._param(a[2] if len(a) > 2 else None, "a linear bias")
            return self._with(nn.Linear(w.shape[1], w.shape[0], bias=b is not None), node, a[1:3], {"weight": w, "bias": b})
        if t in (aten.batch_norm.default, aten._native_batch_norm_legit_no_training.default):
            w, b, mean, var = (self._param(x, "a batch-norm tensor") for x in a[1:5])
            training = bool(a[5]) if t is aten.batch_norm.default else False
            if training:
                raise PycompressError(f"{self.path}: node {node.name}: batch norm exported in training mode; "
                                      "export the model after model.eval()")
            momentum, eps = (float(a[6]), float(a[7])) if t is aten.batch_norm.default else (float(a[5]), float(a[6]))
            rank = len(_shape(a[0]))
            cls = {4: nn.BatchNorm2d, 2: nn.BatchNorm1d}.get(rank)
            if cls is None:
                raise PycompressError(f"{self.path}: node {node.name}: batch norm on a rank-{rank} tensor is not supported")
            m = cls(mean.numel(), eps=eps, momentum=momentum, affine=w is not None)
            return self._with(m, node, a[1:5], {"weight": w, "bias": b, "running_mean": mean, "running_var": var})
        if t in (aten.relu.default, aten.relu_.default):
            return self._with(nn.ReLU(), node, [], {})
        if t is aten.max_pool2d.default:
            k = _ints(a[1])
            s = _ints(a[2]) if len(a) > 2 and a[2] else k
            pad, dil = (_ints(a[3]) if len(a) > 3 else (0, 0)), (_ints(a[4]) if len(a) > 4 else (1, 1))
            ceil = bool(a[5]) if len(a) > 5 else False
            return self._with(nn.MaxPool2d(k, s, pad, dil, ceil_mode=ceil), node, [], {})
        if t is aten.avg_pool2d.default:
            k = _ints(a[1])
            s = _ints(a[2]) if len(a) > 2 and a[2] else k
            pad = _ints(a[3]) if len(a) > 3 else (0, 0)
            ceil, include, divisor = (bool(a[4]) if len(a) > 4 else False), (bool(a[5]) if len(a) > 5 else True), \
                (a[6] if len(a) > 6 else None)
            return self._with(nn.AvgPool2d(k, s, pad, ceil, include, divisor), node, [], {})
        if t is aten.adaptive_avg_pool2d.default:
            return self._with(nn.AdaptiveAvgPool2d(_ints(a[1])), node, [], {})
        if t is aten.flatten.using_ints or t in (aten.view.default, aten.reshape.default, aten._unsafe_view.default):
            before, after = _shape(a[0]), _shape(node)
            if len(after) == 2 and len(before) >= 2 and after[0] == before[0]:  # keeps the batch: a flatten
                return self._with(nn.Flatten(), node, [], {})
            raise PycompressError(f"{self.path}: node {node.name}: op {t} from {before} to {after} is not supported "
                                  "(only a flatten that keeps the batch dimension)")
        if t in (aten.add.Tensor, aten.add_.Tensor) and len(a) == 2 and all(isinstance(x, torch.fx.Node) for x in a) \
                and node.kwargs.get("alpha", 1) == 1:
            return ("add", None, list(a))
        if t in (aten.clone.default, aten.contiguous.default, aten.alias.default) or (
                t is aten.dropout.default and len(a) > 2 and not a[2]):
            return ("same", None, [a[0]])
        act = _activation(t, a, node.kwargs)
        if act is not None:
            return self._with(act, node, [], {})
        if t is aten.mean.dim:
            dims = [int(d) for d in a[1]] if len(a) > 1 and a[1] is not None else None
            keep = bool(a[2]) if len(a) > 2 else bool(node.kwargs.get("keepdim", False))
            if dims is None or node.kwargs.get("dtype") is not None:
                raise PycompressError(f"{self.path}: node {node.name}: mean over all dimensions is not supported")
            return ("function", (torch.mean, (tuple(dims), keep)), [a[0]])
        if t in (aten.softmax.int, aten._softmax.default):
            if t is aten.softmax.int and (len(a) > 2 and a[2] is not None or node.kwargs.get("dtype") is not None):
                raise PycompressError(f"{self.path}: node {node.name}: softmax with a dtype is not supported")
            return ("function", (torch.softmax, (int(a[1]),)), [a[0]])
        if t is operator.getitem and a[0].target is aten._native_batch_norm_legit_no_training.default and a[1] == 0:
            return ("same", None, [a[0]])
        raise PycompressError(f"{self.path}: node {node.name}: op {t} is not supported")

    def _with(self, module: nn.Module, node, tensors, values: dict) -> tuple[str, nn.Module, list]:
        with torch.no_grad():
            for name, value in values.items():
                if value is None:
                    continue
                getattr(module, name).copy_(value.detach())
        target = self._place(node, list(tensors), node.name, module)
        return ("module", target, [node.args[0]])


_SIMPLE = {"relu6": nn.ReLU6, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "silu": nn.SiLU, "hardsigmoid": nn.Hardsigmoid,
           "hardswish": nn.Hardswish}


def _activation(t, a, kwargs) -> nn.Module | None:
    """The torch module of an ATen activation node (in-place variants included), or None."""
    name = getattr(t, "__name__", "")  # e.g. "leaky_relu.default"
    op, _, overload = name.partition(".")
    op = op.rstrip("_")
    if overload != "default" or getattr(t, "namespace", "aten") != "aten":
        return None
    if op in _SIMPLE:
        return _SIMPLE[op]()
    if op == "hardtanh":
        return nn.Hardtanh(float(a[1]) if len(a) > 1 else -1.0, float(a[2]) if len(a) > 2 else 1.0)
    if op == "leaky_relu":
        return nn.LeakyReLU(float(a[1]) if len(a) > 1 else 0.01)
    if op == "gelu":
        return nn.GELU(kwargs.get("approximate", a[1] if len(a) > 1 else "none"))
    return None


def rebuild(ep: torch.export.ExportedProgram, path: Path) -> Rebuilt:
    """The program as an fx GraphModule of torch layers (eval mode), checked against ep.module()."""
    b = _Builder(ep, path)
    if len(b.user_inputs) != 1:
        raise PycompressError(f"{path}: the program takes {len(b.user_inputs)} inputs; one input tensor is supported")
    graph = torch.fx.Graph()
    env: dict = {}
    for node in ep.graph.nodes:
        if node.op == "placeholder":
            if node.name in b.user_inputs:
                env[node] = graph.placeholder("x")
                shape = _shape(node)
            continue
        if node.op == "output":
            outs = node.args[0]
            outs = outs if isinstance(outs, (list, tuple)) else [outs]
            if len(outs) != 1 or outs[0] not in env:
                raise PycompressError(f"{path}: the program returns {len(outs)} outputs; one output tensor is supported")
            graph.output(env[outs[0]])
            continue
        if node.op != "call_function":
            raise PycompressError(f"{path}: node {node.name}: {node.op} {node.target} is not supported")
        kind, target, inputs = b.layer(node)
        missing = [i for i in inputs if i not in env]
        if missing:
            raise PycompressError(f"{path}: node {node.name}: op {node.target} reads {missing[0]}, "
                                  "which is not the output of a supported layer")
        if kind == "module":
            env[node] = graph.call_module(target, (env[inputs[0]],))
        elif kind == "function":
            fn, extra = target
            env[node] = graph.call_function(fn, (env[inputs[0]], *extra))
        elif kind == "add":
            env[node] = graph.call_function(operator.add, (env[inputs[0]], env[inputs[1]]))
        else:
            env[node] = env[inputs[0]]
    if len(shape) < 2:
        raise PycompressError(f"{path}: the program's input has shape {shape}; expected (batch, ...)")
    module = torch.fx.GraphModule(b.root, graph, class_name="Rebuilt").eval()
    _check_same(ep, module, path)
    return Rebuilt(module, shape[1:])


@torch.no_grad()
def _check_same(ep: torch.export.ExportedProgram, module: nn.Module, path: Path) -> None:
    """The rebuilt module computes what the program computes on its own example inputs."""
    args = ep.example_inputs[0] if ep.example_inputs else ()
    if len(args) != 1 or not isinstance(args[0], torch.Tensor):
        return
    want = ep.module()(*args)
    want = want[0] if isinstance(want, (tuple, list)) else want
    got = module(args[0])
    if got.shape != want.shape or not torch.allclose(got, want, rtol=1e-5, atol=1e-6, equal_nan=True):
        raise RebuildMismatch(f"{path}: internal error: the rebuilt module differs from the program on its example inputs")


def factory(module: nn.Module) -> Callable[[], nn.Module]:
    import copy

    return lambda: copy.deepcopy(module)
