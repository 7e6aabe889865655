"""Test inputs for a graph's dataset: the fixed test split of the model it was trained on."""
from __future__ import annotations

import numpy as np

from ..graph import Graph


def dataset_inputs(graph: Graph, n: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(inputs (N, *input_shape) float32, labels or None). Unknown datasets get seeded uniform [0, 1) inputs."""
    if graph.dataset == "mnist28":
        from ..lenet import mnist_split

        s = mnist_split()
        x, y = s.x_test.numpy(), s.y_test.numpy()
    elif graph.dataset == "digits8":
        from ..digits_cnn import digits_split

        s = digits_split()
        x, y = s.x_test.numpy(), s.y_test.numpy()
    else:
        x = np.random.default_rng(0).random((n or 100, *graph.input_shape), dtype=np.float32)
        y = None
    if n is not None:
        x, y = x[:n], (y[:n] if y is not None else None)
    return np.ascontiguousarray(x, np.float32), y
