"""pycompress: exponent sharing and weight sharing for trained networks, and FPGA hardware for them."""
from .accounting import LayerStats, ModelStats
from .codec import ExpShareTensor, encode, encode_bits
from .codebook import ClusteredTensor, make_clustered
from .compress import CompressConfig, compress, compress_state_dict, model_stats
from .container import CompressedModel, load, save
from .errors import PycompressError
from .formats import FORMATS, FloatFormat, get_format

__version__ = "0.1.0"

__all__ = [
    "ClusteredTensor", "CompressConfig", "CompressedModel", "ExpShareTensor", "FORMATS", "FloatFormat", "LayerStats", "ModelStats",
    "PycompressError", "compress", "compress_state_dict", "encode", "encode_bits", "get_format", "load", "make_clustered",
    "model_stats", "save",
]
