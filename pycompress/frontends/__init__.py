"""Stage 3: model front ends. One loader for every model file a command accepts, with what it knows of the architecture.

- `.pt2` (torch.export program) and `.onnx` (ONNX model, `onnx_import.py`): weights, a runnable
  module and the layer graph (BatchNorm2d after a conv folded in first, so the weights are what
  the hardware computes with); kind "export" for both;
- `.pcz`: the decoded weights, and a module rebuilt from its layer graph when it has one;
- `.pt`/`.pth`/`.safetensors` state_dict: weights only; the built-in LeNet-5 when the keys and
  shapes are exactly its own (the default model), otherwise no architecture.

Commands that only need weights (stats, compress, decompress, cluster) take any of them; the
others call `require_architecture` and fail with one line on a plain state_dict.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import torch
from torch import nn

from pycompress.core.errors import PycompressError

ARCH_SUFFIXES = (".pt2", ".onnx")
LARGE_FILE = 64 << 20  # bytes: a model file this large has its program's memory handed back after loading
Builder = Callable[[Mapping[str, torch.Tensor]], nn.Module]


@dataclass(frozen=True)
class LoadedModel:
    """Weights, and when known: `build` (a float32 module in eval mode with given weights), input shape, graph."""

    path: str
    kind: str  # "export" (a .pt2 or .onnx program), "pcz", "state_dict"
    state_dict: dict[str, torch.Tensor]
    build: Builder | None = None
    input_shape: tuple[int, ...] | None = None
    graph: dict | None = None
    graph_note: str = ""  # why there is no layer graph
    trainable: bool = False  # build(sd) has parameters named as in sd (ESART can fine-tune it)
    lenet: bool = False  # the built-in LeNet-5 (default data: mnist5k)
    notes: tuple[str, ...] = field(default_factory=tuple)


def load_model(path: str) -> LoadedModel:
    suffix = Path(path).suffix.lower()
    if suffix == ".pt2":
        return _load_export(path)
    if suffix == ".onnx":
        return _load_onnx(path)
    if suffix == ".pcz":
        return _load_pcz(path)
    from pycompress.core.fileio import load_state_dict

    return _weights(path, "state_dict", load_state_dict(path))


def _weightless(module: nn.Module) -> nn.Module | None:
    """A copy of `module` with its tensors on the meta device (no memory), or None when it has a tensor
    that its state_dict does not hold (a non-persistent buffer), which to_empty could not restore."""
    keys = set(module.state_dict())
    names = [n for n, _ in module.named_parameters()] + [n for n, _ in module.named_buffers()]
    if any(n not in keys for n in names):
        return None
    memo: dict = {id(p): nn.Parameter(torch.empty_like(p, device="meta"), requires_grad=p.requires_grad)
                  for p in module.parameters()}
    memo.update({id(b): torch.empty_like(b, device="meta") for b in module.buffers()})
    return copy.deepcopy(module, memo)


def require_architecture(model: LoadedModel, command: str) -> Builder:
    """The model's builder, or one line saying this command needs the architecture."""
    if model.build is None:
        where = "a .pcz without a layer graph" if model.kind == "pcz" else "a plain state_dict"
        hint = (f" (or keep these weights and name the architecture: `{command} {model.path} --model MODEL.pt2|.onnx`)"
                if command == "evaluate" else "")
        raise PycompressError(f"{model.path}: not a LeNet-shaped model, and `{command}` needs the model's architecture, which {where} does not carry: "
                              f"pass the torch.export program (.pt2, written by torch.export.save) or an ONNX model (.onnx){hint}; "
                              "stats, compress, decompress and cluster need only weights")
    return model.build


def with_weights(arch: LoadedModel, weights: Mapping[str, torch.Tensor], source: str) -> LoadedModel:
    """`arch` (a model file with its architecture) carrying the tensors of `source` instead of its own:
    the user's own network with, say, the decoded weights of a .pcz. Same names and shapes, or one line."""
    if arch.build is None:
        require_architecture(arch, "evaluate --model")
    extra, missing = sorted(set(weights) - set(arch.state_dict)), sorted(set(arch.state_dict) - set(weights))
    if extra or missing:
        what = (f"holds {extra[0]!r}, which {arch.path} does not" if extra else f"lacks {missing[0]!r}, which {arch.path} has")
        raise PycompressError(f"{source} {what} ({len(extra)} extra, {len(missing)} missing of {len(arch.state_dict)} tensors): "
                              f"not weights of this model (compress the same file you pass to --model)")
    for k, v in arch.state_dict.items():
        if tuple(weights[k].shape) != tuple(v.shape):
            raise PycompressError(f"{source}: tensor {k} has shape {tuple(weights[k].shape)}, {arch.path} needs {tuple(v.shape)}")
    from dataclasses import replace

    return replace(arch, path=source, state_dict=dict(weights))


def load_weights(path: str) -> dict[str, torch.Tensor]:
    """The state_dict of any accepted model file (for the commands that need only weights)."""
    return load_model(path).state_dict


def _is_lenet(sd: Mapping[str, torch.Tensor]) -> bool:
    from .lenet import LeNet5

    ref = LeNet5().state_dict()
    return set(ref) == set(sd) and all(tuple(sd[k].shape) == tuple(v.shape) for k, v in ref.items())


def _weights(path: str, kind: str, sd: dict, graph: dict | None = None, note: str = "") -> LoadedModel:
    if _is_lenet(sd):
        from .lenet import load_lenet

        return LoadedModel(path, kind, sd, lambda s: load_lenet(dict(s)), (1, 28, 28), graph, note, True, True)
    return LoadedModel(path, kind, sd, None, None, graph, note or "the file holds weights only")


def _load_pcz(path: str) -> LoadedModel:
    from pycompress.core import container
    from pycompress.core.graph import Graph

    cm = container.load(path)
    sd = cm.state_dict()
    if cm.graph is None or _is_lenet(sd):
        return _weights(path, "pcz", sd, cm.graph, "" if cm.graph else "the container has no layer graph")
    graph = Graph.from_dict(cm.graph)

    def build(s: Mapping[str, torch.Tensor]) -> nn.Module:
        from .torch_model import torch_model

        return torch_model(graph, {k: v.detach().to(torch.float32).numpy() for k, v in s.items()}).eval()

    try:
        build(sd)
    except (TypeError, KeyError) as exc:  # a layer the graph-to-torch rebuild does not know
        return LoadedModel(path, "pcz", sd, None, None, cm.graph, f"cannot rebuild its graph in torch ({exc})")
    return LoadedModel(path, "pcz", sd, build, tuple(graph.input_shape), cm.graph)


def _load_export(path: str) -> LoadedModel:
    from .export import rebuild, safe_load
    from .programs import pt2_program

    return _load_program(path, safe_load, lambda ep, p: (rebuild(ep, p), ""), pt2_program)


def _load_onnx(path: str) -> LoadedModel:
    from .onnx_file import load as load_proto
    from .onnx_import import rebuild
    from .programs import onnx_program

    return _load_program(path, load_proto, rebuild, onnx_program)


def _load_program(path: str, parse: Callable, rebuild: Callable, as_is: Callable) -> LoadedModel:
    """A model file with its architecture (.pt2, .onnx): `parse(path)` reads it (a failure is one line);
    `rebuild(parsed, path)` gives (Rebuilt, note): BN folded, graph extracted. A program the rebuild does not
    know is run as it is (`as_is`, programs.py): weights and evaluation, no layer graph."""
    from pycompress.core.fileio import _check_readable
    from pycompress.frontends.batchnorm import fold
    from pycompress.frontends.graph_extract import extract_graph

    p = Path(path)
    _check_readable(p)
    from pycompress.core.progress import release_memory as _release

    def release_memory() -> None:  # a full collection costs ~0.7 s: worth it for a large model only
        if p.stat().st_size >= LARGE_FILE:
            _release()

    from .export import Refused

    parsed = parse(p)
    try:
        rebuilt, unchecked = rebuild(parsed, p)
    except Refused:  # over a limit, or a rebuild that differs: never run as it is
        raise
    except PycompressError as exc:
        why = str(exc).removeprefix(f"{p}: ")
        try:  # a well-formed program runs as it is; one the runtime refuses too fails with the rebuild's reason
            sd, build, shape = as_is(parsed, p)
            with torch.no_grad():
                build(sd)(torch.zeros((1, *shape)))
        except Exception as run_exc:  # torch.export / onnxruntime raise many kinds for a malformed program
            first = (str(run_exc).strip().splitlines() or [type(run_exc).__name__])[0][:160]
            raise PycompressError(f"{exc}; it cannot run as it is either ({first})") from None
        return LoadedModel(path, "export", sd, build, shape, None, why, False, False,
                           (f"run as the program itself, without a layer graph (no hardware): {why}",))
    read = lambda q: rebuild(parse(q), q)  # noqa: E731 (a second, unfolded copy when folding fails)
    del parsed
    release_memory()  # the program or protobuf: the rebuilt module holds the weights now
    notes = [unchecked] if unchecked else []
    try:  # folded in place: no second copy of a large model
        folded = fold(rebuilt.module, inplace=True)
        module = folded.module
        if folded.note:
            notes.append(folded.note)
    except PycompressError as exc:  # a batch norm without running statistics: kept (no hardware graph then)
        rebuilt = read(p)[0]  # the failed fold may have folded some layers: start again
        module = rebuilt.module
        notes.append(f"batch norm kept unfolded ({exc})")
    try:
        graph, note = extract_graph(module, rebuilt.input_shape).to_dict(), ""
    except PycompressError as exc:
        graph, note = None, str(exc)
    template = module.eval()
    sd = {k: v.detach().clone() for k, v in template.state_dict().items()}
    weightless = _weightless(template)  # the weights live once, in sd (issue 14, item 5)
    if weightless is not None:
        template = weightless
    input_shape = rebuilt.input_shape
    del module, rebuilt
    release_memory()  # the exported program and its copies are in reference cycles

    def build(s: Mapping[str, torch.Tensor]) -> nn.Module:
        m = copy.deepcopy(template)
        if weightless is not None:
            m = m.to_empty(device="cpu")  # every tensor is in the state_dict: load_state_dict fills them all
        ref = m.state_dict()
        missing = sorted(set(ref) - set(s))
        if missing:
            raise PycompressError(f"{path}: the weights lack {', '.join(missing[:3])}")
        for k, v in ref.items():
            if tuple(s[k].shape) != tuple(v.shape):
                raise PycompressError(f"{path}: tensor {k} has shape {tuple(s[k].shape)}, the program needs {tuple(v.shape)}")
        m.load_state_dict({k: s[k].to(v.dtype) for k, v in ref.items()})
        return m.eval()

    return LoadedModel(path, "export", sd, build, input_shape, graph, note, True, False, tuple(notes))
