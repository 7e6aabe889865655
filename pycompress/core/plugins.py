"""Packages whose import registers storage schemes with the container, imported at its first lookup.

The package root lists them (core never names a scheme), so `import pycompress` stays free of
torch and `pycompress --help` starts fast; a container read still knows every scheme.
"""
from __future__ import annotations

import importlib

SCHEME_PACKAGES: list[str] = []
_loaded: set[str] = set()


def load_scheme_packages() -> None:
    for name in SCHEME_PACKAGES:
        if name not in _loaded:
            importlib.import_module(name)
            _loaded.add(name)
