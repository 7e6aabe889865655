"""The layer graph read from untrusted JSON (a container's `graph` field): every field checked.

Split from graph.py so that the IR stays one small module; `Graph.from_dict` calls `graph_from_dict`.
"""
from __future__ import annotations

import math
from typing import Mapping

from . import validate as v
from .errors import PycompressError
from .graph import (_LAYER_TYPES, _V2_OPS, ACTIVATIONS, MAX_ACTIVATION, MAX_KERNEL, MAX_LAYER_PARAMS, MAX_LAYERS,
    READABLE_VERSIONS, Activation, Conv2d, Graph, Layer, Linear)


def graph_from_dict(data: Mapping) -> Graph:
    """The typed graph of untrusted JSON: every field of the right type and range, activations bounded."""
    try:
        v.need_dict(data, "layer graph")
        v.need_keys(data, "layer graph", ("input_shape", "layers"), ("version", "dataset"))
        version = data.get("version", 1)
        if version not in READABLE_VERSIONS or isinstance(version, bool):
            raise v.Invalid(f"layer graph: version {v._short(version)}, this version reads "
                            f"{', '.join(map(str, READABLE_VERSIONS))}")
        layers = tuple(_layer_from_dict(d, i, version)
                       for i, d in enumerate(v.need_list(data["layers"], "layer graph: layers", MAX_LAYERS)))
        dims = v.need_list(data["input_shape"], "layer graph: input_shape", 3)
        if len(dims) not in (1, 3):
            raise v.Invalid(f"layer graph: input_shape has {len(dims)} dimensions, expected (C, H, W) or (N,)")
        shape = tuple(v.need_int(d, "layer graph: input_shape", 1, MAX_ACTIVATION) for d in dims)
        dataset = data.get("dataset")
        if dataset is not None:
            v.need_str(dataset, "layer graph: dataset", 64)
    except v.Invalid as exc:
        raise PycompressError(str(exc)) from None
    graph = Graph(shape, layers, dataset)
    graph.shapes()
    return graph


def _layer_from_dict(d: object, i: int, version: int) -> Layer:
    what = f"layer graph: layer {i}"
    d = v.need_dict(d, what)
    op = d.get("op")
    kind = _LAYER_TYPES.get(op) if isinstance(op, str) else None
    if kind is None or (version < 2 and op in _V2_OPS):
        raise v.Invalid(f"layer graph: unknown layer op {v._short(op)}")
    fields = [k for k in kind.__dataclass_fields__ if k != "inputs" or version >= 2]
    optional = (("inputs",) if version >= 2 else ()) + (("padding",) if op in ("maxpool2d", "avgpool2d") else ())
    v.need_keys(d, f"{what} ({op})", [k for k in fields if k not in optional], optional)
    kw = {}
    for key in fields:
        if key == "op" or key not in d:
            continue
        value, where = d[key], f"{what} ({op}) {key}"
        if key in ("name", "weight", "scale", "shift"):
            kw[key] = v.need_str(value, where, 256)
        elif key == "function":
            kw[key] = v.need_str(value, where, 32)
            if kw[key] not in ACTIVATIONS:
                raise v.Invalid(f"{where}: unknown activation {v._short(value)} (known: {', '.join(ACTIVATIONS)})")
        elif key == "params":
            kw[key] = tuple(_need_float(x, where) for x in v.need_list(value, where, 2))
        elif key == "inputs":
            kw[key] = tuple(v.need_str(x, where, 256) for x in v.need_list(value, where, 2))
        elif key == "bias":
            kw[key] = None if value is None else v.need_str(value, where, 256)
        elif key in ("in_channels", "out_channels", "in_features", "out_features", "channels"):
            kw[key] = v.need_int(value, where, 1, MAX_ACTIVATION)
        elif key == "stride":
            kw[key] = v.need_int(value, where, 1, 2 if kind is Conv2d else MAX_KERNEL)
        elif kind is Conv2d and key in ("kernel", "padding"):
            pair = v.need_list(value, where, 2)
            if len(pair) != 2:
                raise v.Invalid(f"{where}: expected two integers")
            kw[key] = tuple(v.need_int(x, where, 1 if key == "kernel" else 0, MAX_KERNEL) for x in pair)
        elif key == "kernel":
            kw[key] = v.need_int(value, where, 1, MAX_KERNEL)
        elif key == "padding":  # of a pool (a conv's is a pair, above)
            kw[key] = v.need_int(value, where, 0, MAX_KERNEL)
        else:  # a field added to a dataclass must get its check here
            raise v.Invalid(f"{where}: no check for this field")
    layer = kind(**kw)
    if isinstance(layer, Activation):
        _check_activation(layer, what)
    if isinstance(layer, (Conv2d, Linear)):
        n = (layer.out_channels * layer.in_channels * layer.kernel[0] * layer.kernel[1] if isinstance(layer, Conv2d)
             else layer.out_features * layer.in_features)
        if n > MAX_LAYER_PARAMS:
            raise v.Invalid(f"layer graph: layer {layer.name} has {n} weights, limit {MAX_LAYER_PARAMS}")
    return layer


def _need_float(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise v.Invalid(f"{where}: expected a finite number, not {v._short(value)}")
    return float(value)


def _check_activation(layer: Activation, what: str) -> None:
    """Parameter count per function; hardtanh needs low < high (what torch's hardtanh requires)."""
    want = ACTIVATIONS[layer.function]
    if len(layer.params) != want:
        raise v.Invalid(f"{what} (activation {layer.function}): {len(layer.params)} parameters, expected {want}")
    if layer.function == "hardtanh" and not layer.params[0] < layer.params[1]:
        raise v.Invalid(f"{what} (activation hardtanh): low {layer.params[0]} is not below high {layer.params[1]}")
