"""Which layer graph a model gets: traced from its module, or the shipped built-in's by weights digest.

A plain state_dict says nothing about activations or pooling, so a graph is
only attached to one when its weights are bit-identical to a shipped built-in
(weights digest), or when the caller confirms the built-in architecture
(`confirm=True`, e.g. commands that evaluate the model as the built-in LeNet5).
A same-keys tanh/avg-pool LeNet thus never gets the ReLU/max-pool graph.
"""
from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import Mapping

import torch
from torch import nn

from pycompress.core.errors import PycompressError
from pycompress.core.graph import Graph
from .batchnorm import fold, fold_batchnorm
from .graph_extract import extract


@dataclass(frozen=True)
class Builtin:
    cls: type
    input_shape: tuple[int, ...]
    dataset: str
    signature: dict  # folded state_dict key -> shape
    graph: Graph
    digests: tuple[str, ...]  # weights digests of the shipped weights (as trained, and BN-folded)


@functools.lru_cache(maxsize=None)
def _builtins() -> tuple[Builtin, ...]:
    from .digits_cnn import DIGITS_INPUT_SHAPE, DigitsCNN
    from .lenet import LeNet5
    from .shipped import DIGITS_WEIGHTS, LENET_WEIGHTS, load_shipped, weights_digest

    out = []
    for cls, shape, dataset, weights in ((LeNet5, (1, 28, 28), "mnist28", LENET_WEIGHTS),
                                         (DigitsCNN, DIGITS_INPUT_SHAPE, "digits8", DIGITS_WEIGHTS)):
        folded = fold_batchnorm(cls())
        sig = {k: tuple(v.shape) for k, v in folded.state_dict().items()}
        digests = []
        try:
            sd = load_shipped(weights)
            model = cls()
            model.load_state_dict(sd)
            digests = [weights_digest(sd), weights_digest({k: v.detach() for k, v in fold_batchnorm(model).state_dict().items()})]
        except PycompressError:
            pass  # shipped weights missing or modified: nothing matches by digest
        out.append(Builtin(cls, shape, dataset, sig, extract(folded, shape, dataset).graph, tuple(digests)))
    return tuple(out)


def _same_keys(b: Builtin, state_dict: Mapping[str, torch.Tensor]) -> bool:
    return set(b.signature) == set(state_dict) and all(tuple(state_dict[k].shape) == v for k, v in b.signature.items())


def infer_graph(state_dict: Mapping[str, torch.Tensor], confirm: bool = False) -> dict | None:
    """The graph of a shipped built-in whose weights these are (digest), or, with `confirm`, whose keys and shapes match."""
    from .shipped import weights_digest

    for b in _builtins():
        if _same_keys(b, state_dict) and (confirm or weights_digest(dict(state_dict)) in b.digests):
            return b.graph.to_dict()
    return None


def no_graph_reason(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Why a plain state_dict gets no graph, in one line."""
    for b in _builtins():
        if _same_keys(b, state_dict):
            return (f"the weights have the keys of the built-in {b.cls.__name__} but are not the shipped ones, and a "
                    "state_dict does not say which activations and pools the network uses: compress the nn.Module")
    return "a state_dict holds no architecture: compress the nn.Module (with an input_shape attribute)"


@dataclass(frozen=True)
class ModuleGraph:
    module: nn.Module  # the BN-folded copy whose state_dict the graph describes
    graph: dict | None
    reason: str | None  # why graph is None
    notes: tuple[str, ...] = ()


def module_graph_or_reason(module: nn.Module, input_shape: tuple[int, ...] | None = None,
                           dataset: str | None = None) -> ModuleGraph:
    """The folded module and its graph, or the folded module (when folding worked) and why there is no graph."""
    try:
        result = fold(module)
    except PycompressError as exc:
        return ModuleGraph(module, None, str(exc))
    folded, notes = result.module, ((result.note,) if result.note else ())
    shape = input_shape or getattr(module, "input_shape", None)
    builtin = next((b for b in _builtins() if type(module) is b.cls), None)
    if shape is None and builtin is None:
        return ModuleGraph(folded, None, f"{type(module).__name__} has no input_shape attribute (set module.input_shape = (C, H, W))")
    shape = shape or builtin.input_shape
    dataset = dataset or getattr(module, "dataset", None) or (builtin.dataset if builtin else None)
    try:
        found = extract(folded, tuple(shape), dataset)
    except PycompressError as exc:
        return ModuleGraph(folded, None, str(exc), notes)
    return ModuleGraph(folded, found.graph.to_dict(), None, notes + found.notes)


def module_graph(module: nn.Module, input_shape: tuple[int, ...] | None = None) -> tuple[nn.Module, dict] | None:
    """(BN-folded copy, graph JSON) of a supported CNN whose input shape is known, else None (see module_graph_or_reason)."""
    r = module_graph_or_reason(module, input_shape)
    return (r.module, r.graph) if r.graph is not None else None


def graph_for(model: nn.Module | Mapping[str, torch.Tensor], input_shape: tuple[int, ...] | None = None,
              dataset: str | None = None) -> dict:
    """Graph JSON for a module or a shipped built-in's state_dict; raises with the reason otherwise."""
    if isinstance(model, nn.Module):
        r = module_graph_or_reason(model, input_shape, dataset)
        if r.graph is None:
            if "input_shape" in (r.reason or ""):
                raise PycompressError(f"graph_for({type(model).__name__}): pass input_shape=(C, H, W)")
            raise PycompressError(r.reason)
        return r.graph
    graph = infer_graph(model)
    if graph is None:
        raise PycompressError(f"no layer graph: {no_graph_reason(model)}")
    return graph


def warn(message: str) -> None:
    print(f"pycompress: {message}", file=sys.stderr, flush=True)
