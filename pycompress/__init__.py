"""pycompress: exponent sharing and weight sharing for trained networks, and FPGA hardware for them.

The public names below load on first use (PEP 562), so `pycompress --help` and the commands
that need no tensors start without importing torch.
"""
import importlib as _importlib
import sys as _sys
import types as _types

__version__ = "0.1.0"

_API = {
    "LayerStats": "pycompress.core.accounting", "ModelStats": "pycompress.core.accounting",
    "ExpShareTensor": "pycompress.schemes.expshare", "encode": "pycompress.schemes.expshare",
    "encode_bits": "pycompress.schemes.expshare",
    "ClusteredTensor": "pycompress.schemes.codebook", "make_clustered": "pycompress.schemes.codebook",
    "HuffmanTensor": "pycompress.schemes.huffman",
    "CompressConfig": "pycompress.compress", "compress": "pycompress.compress",
    "compress_state_dict": "pycompress.compress", "model_stats": "pycompress.compress",
    "CompressedModel": "pycompress.core.container", "load": "pycompress.core.container",
    "save": "pycompress.core.container",
    "PycompressError": "pycompress.core.errors",
    "FORMATS": "pycompress.core.formats", "FloatFormat": "pycompress.core.formats",
    "get_format": "pycompress.core.formats",
}
__all__ = sorted(_API)


def _interrupted_hook(kind, value, tb, _previous=_sys.excepthook):
    """Ctrl-C while torch loads is one line, not a traceback (the hook is removed once the names are loaded)."""
    if issubclass(kind, KeyboardInterrupt):
        print("pycompress: interrupted", file=_sys.stderr)
    else:
        _previous(kind, value, tb)


from pycompress.core import plugins as _plugins  # noqa: E402 (torch-free)

_plugins.SCHEME_PACKAGES.append("pycompress.schemes")  # registers expshare, codebook, huffman on first container use


def _load(name: str):
    _sys.excepthook = _interrupted_hook
    try:
        _plugins.load_scheme_packages()
        return getattr(_importlib.import_module(_API[name]), name)
    finally:
        _sys.excepthook = _interrupted_hook.__defaults__[0]


class _Package(_types.ModuleType):
    """`pycompress.compress` stays the function: importing the submodule of that name does not rebind it."""

    @property
    def compress(self):
        return _load("compress")

    @compress.setter
    def compress(self, value) -> None:  # the import system binds the submodule here; the function wins
        pass


def __getattr__(name: str):
    if name in _API:
        return _load(name)
    raise AttributeError(f"module 'pycompress' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


_sys.modules[__name__].__class__ = _Package
