"""pycompress: exponent sharing and weight sharing for trained networks, and FPGA hardware for them."""
import sys as _sys


def _interrupted_hook(kind, value, tb, _previous=_sys.excepthook):
    """Ctrl-C while the package imports (torch is slow to load) is one line, not a traceback; the
    hook is removed again at the end of this file, so it only acts if the import was interrupted."""
    if issubclass(kind, KeyboardInterrupt):
        print("pycompress: interrupted", file=_sys.stderr)
    else:
        _previous(kind, value, tb)


_sys.excepthook = _interrupted_hook
from pycompress.core.accounting import LayerStats, ModelStats
from pycompress.schemes.expshare import ExpShareTensor, encode, encode_bits
from pycompress.schemes.codebook import ClusteredTensor, make_clustered
from pycompress.schemes.huffman import HuffmanTensor  # registers the `huffman` container scheme
from .compress import CompressConfig, compress, compress_state_dict, model_stats
from pycompress.core.container import CompressedModel, load, save
from pycompress.core.errors import PycompressError
from pycompress.core.formats import FORMATS, FloatFormat, get_format

__version__ = "0.1.0"

__all__ = [
    "ClusteredTensor", "CompressConfig", "CompressedModel", "ExpShareTensor", "FORMATS", "FloatFormat", "HuffmanTensor", "LayerStats", "ModelStats",
    "PycompressError", "compress", "compress_state_dict", "encode", "encode_bits", "get_format", "load", "make_clustered",
    "model_stats", "save",
]

_sys.excepthook = _interrupted_hook.__defaults__[0]  # import finished: the usual hook again
