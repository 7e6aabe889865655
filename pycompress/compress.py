"""The one-call API: model in, `CompressedModel` out, driven by a versioned config."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Mapping

import torch
from torch import nn

from pycompress.core.accounting import LayerStats, ModelStats, layer_stats
from pycompress.schemes.expshare import encode_bits
from pycompress.core.container import CompressedModel
from pycompress.core.errors import PycompressError
from pycompress.core.fileio import load_state_dict, validate_state_dict
from pycompress.core.formats import get_format, tensor_bits, to_format


@dataclass(frozen=True)
class CompressConfig:
    """Lossless exponent sharing. `include_all` also encodes 1-D float tensors (biases).

    `scheme` "huffman" entropy-codes the exponent indices instead (issue 15), with codes of at
    most `max_code_len` bits and a code-stream offset every `block` weights.
    """

    format: str = "bf16"
    include_all: bool = False
    version: int = 1
    scheme: str = "expshare"
    max_code_len: int = 12
    block: int = 4096

    def __post_init__(self) -> None:
        get_format(self.format)  # fail early on an unknown format
        if self.scheme not in LOSSLESS_SCHEMES:
            raise PycompressError(f"unknown lossless scheme {self.scheme!r}; choose one of {', '.join(LOSSLESS_SCHEMES)}")

    def encode(self, t: torch.Tensor):
        """The stored form of one tensor (already in `format`) under this config's scheme."""
        if self.scheme == "huffman":
            from pycompress.schemes.huffman import encode_bits as huffman_encode

            return huffman_encode(tensor_bits(t), self.format, max_len=self.max_code_len, block=self.block)
        return encode_bits(tensor_bits(t), self.format)


LOSSLESS_SCHEMES = ("expshare", "huffman")


ModelLike = nn.Module | Mapping[str, torch.Tensor] | str | os.PathLike


def as_state_dict(model: ModelLike) -> dict[str, torch.Tensor]:
    if isinstance(model, nn.Module):
        return {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if isinstance(model, (str, os.PathLike)):
        return load_state_dict(model)
    return dict(model)


def is_encoded(tensor: torch.Tensor, include_all: bool) -> bool:
    """Default: floating tensors with two or more dimensions (weights, not biases)."""
    return tensor.is_floating_point() and (include_all or tensor.dim() >= 2)


def cast_state_dict(state_dict: Mapping[str, torch.Tensor], fmt: str) -> dict[str, torch.Tensor]:
    """Every floating tensor converted to `fmt` (round to nearest even); others untouched."""
    f = get_format(fmt)
    return {k: (to_format(v, f) if v.is_floating_point() else v.detach().cpu()) for k, v in state_dict.items()}


def compress_state_dict(state_dict: Mapping[str, torch.Tensor], config: CompressConfig = CompressConfig(),
                        graph: dict | None = None, info: dict | None = None) -> CompressedModel:
    from pycompress.core.progress import Ticker

    fmt = get_format(config.format)
    checked = validate_state_dict(dict(state_dict))
    tensors, raw = {}, {}
    ticker = Ticker(f"encoding in {fmt.name}", len(checked))
    for i, (name, t) in enumerate(checked.items()):  # one tensor at a time: only its cast copy is alive
        t = to_format(t, fmt) if t.is_floating_point() else t.detach().cpu()
        if is_encoded(t, config.include_all):
            tensors[name] = config.encode(t)
        else:
            raw[name] = t
        del t
        ticker.tick(i + 1, name)
    info = dict(info or {})
    if graph is None:  # the shipped built-ins (by weights digest) get their layer graph for the HLS generator
        from pycompress.frontends.graph_builtin import infer_graph, no_graph_reason
        graph = infer_graph(state_dict)
        if graph is None and "no_graph" not in info:
            info["no_graph"] = no_graph_reason(state_dict)
    return CompressedModel(fmt.name, tuple(checked), tensors, raw, graph=graph, info=info)


def compress(model: ModelLike, config: CompressConfig = CompressConfig(), graph: dict | None = None) -> CompressedModel:
    """Compress a module, a state_dict, or a model file losslessly.

    A module is BN-folded and traced for its layer graph; when that fails, the model is compressed
    without one, the reason is printed on stderr and kept in `info["no_graph"]` for `generate`.
    """
    info = {}
    if isinstance(model, nn.Module) and graph is None:  # supported CNNs: fold BN, attach the layer graph
        from pycompress.frontends.graph_builtin import module_graph_or_reason, warn
        found = module_graph_or_reason(model)
        model, graph = found.module, found.graph
        for note in found.notes:
            warn(note)
        if graph is None:
            info["no_graph"] = found.reason
            warn(f"compressed without a layer graph (no hardware can be generated): {found.reason}")
    return compress_state_dict(as_state_dict(model), config, graph=graph, info=info)


def model_stats(state_dict: Mapping[str, torch.Tensor], fmt: str = "bf16", include_all: bool = False,
                scheme: str = "expshare", config: CompressConfig | None = None) -> ModelStats:
    """Eq. 1-4 per encoded tensor and in total, for the model stored in `fmt`; with scheme "huffman",
    compressed_bits are the entropy-coded scheme's stored bits (code table and offsets included)."""
    f = get_format(fmt)
    layers: list[LayerStats] = []
    from pycompress.core.progress import Ticker

    ticker = Ticker(f"statistics in {f.name}", len(state_dict))
    for i, (name, t) in enumerate(state_dict.items()):
        if is_encoded(t, include_all):
            bits = tensor_bits(to_format(t, f))
            stats = layer_stats(name, bits, f)
            if scheme == "huffman":
                stats = _huffman_stats(stats, bits, config)
            layers.append(stats)
            del bits
        ticker.tick(i + 1, name)
    if not layers:
        raise PycompressError("the model has no floating tensors to compress")
    return ModelStats(f.name, tuple(layers))


def compressed_stats(model: CompressedModel) -> ModelStats:
    """Figures of what a container actually stores (narrowed mantissas and codebooks included)."""
    layers = []
    for name, st in model.tensors.items():
        if st.scheme == "expshare":
            layers.append(layer_stats(name, st.decode_bits(), st.fmt, st.mantissa_bits))
        elif st.scheme == "huffman":
            layers.append(replace(layer_stats(name, st.decode_bits(), st.fmt, st.mantissa_bits), scheme="huffman",
                                  compressed_bits=st.stored_bits()))
        else:  # e.g. clustering: exponent figures of the decoded values, stored bits of the scheme
            base = layer_stats(name, st.decode_bits(), st.fmt)
            layers.append(replace(base, scheme=st.scheme, index_bits=st.index_bits, mantissa_bits=0,
                                  compressed_bits=st.stored_bits()))
    if not layers:
        raise PycompressError("the container holds no compressed tensors")
    return ModelStats(model.format, tuple(layers))


def _huffman_stats(stats: LayerStats, bits, config: CompressConfig | None) -> LayerStats:
    from pycompress.schemes.huffman import huffman_stored_bits

    c = config or CompressConfig(format=stats.format, scheme="huffman")
    stored = huffman_stored_bits(bits, stats.format, None, c.max_code_len, c.block)  # as compress: narrowest lossless mantissa
    return replace(stats, scheme="huffman", compressed_bits=stored)
