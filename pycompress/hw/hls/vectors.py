"""Test inputs for a graph's dataset: the fixed test split of the model it was trained on."""
from __future__ import annotations

import numpy as np

from pycompress.core.errors import PycompressError
from pycompress.core.graph import Graph

RANDOM_VECTORS = 100  # default count of random inputs for a graph without a known dataset
MAX_RANDOM_BYTES = 16 << 20  # random inputs never take more than this (fewer vectors for large inputs)


def random_count(graph: Graph, n: int | None = None) -> int:
    """How many random inputs a graph without a dataset gets: n (default 100), at most MAX_RANDOM_BYTES, at least 1."""
    fit = MAX_RANDOM_BYTES // (4 * graph.input_size)
    return max(1, min(RANDOM_VECTORS if n is None else n, fit))


def dataset_inputs(graph: Graph, n: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(inputs (N, *input_shape) float32, labels or None). Unknown datasets get seeded uniform [0, 1) inputs,
    bounded in count and bytes (the graph's input is itself bounded, see graph.MAX_ACTIVATION)."""
    if graph.dataset == "mnist28":
        from pycompress.frontends.lenet import mnist_split

        s = mnist_split()
        x, y = s.x_test.numpy(), s.y_test.numpy()
    elif graph.dataset == "digits8":
        from pycompress.frontends.digits_cnn import digits_split

        s = digits_split()
        x, y = s.x_test.numpy(), s.y_test.numpy()
    else:
        x = np.random.default_rng(0).random((random_count(graph, n), *graph.input_shape), dtype=np.float32)
        y = None
    if tuple(x.shape[1:]) != tuple(graph.input_shape):
        raise PycompressError(f"layer graph: dataset {graph.dataset!r} has inputs {tuple(x.shape[1:])}, "
                              f"the graph expects {tuple(graph.input_shape)}")
    if n is not None:
        x, y = x[:n], (y[:n] if y is not None else None)
    return np.ascontiguousarray(x, np.float32), y
