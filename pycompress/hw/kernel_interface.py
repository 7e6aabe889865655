"""Names of the generated accelerator's interface, shared by the HLS, RTL and Vivado writers.

The HLS top function, its AXI4-Stream ports and AXI-Lite bundle, and the IP
catalog coordinates are defined here once; templates receive them as values.
"""
from __future__ import annotations

TOP_FUNCTION = "pycompress_top"
BASELINE_TOP_FUNCTION = "pycompress_baseline_top"
INPUT_PORT = "in_stream"
OUTPUT_PORT = "out_stream"
CONTROL_BUNDLE = "control"
AXIS_DATA_BITS = 32  # one float32 per beat, TLAST on the last output
IP_VENDOR = "pycompress.org"
IP_LIBRARY = "hls"
IP_VERSION = "1.0"
