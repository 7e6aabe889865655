"""RTL writers: memory images for the decoders and streamers, the whole-network engine rendered
from the accelerator plan (pycompress.hw.plan.plan_rtl chooses its lanes), the Huffman streamer
images, Yosys resource reports. The SystemVerilog itself lives in the repository's `rtl/` folder;
templates in `rtl/templates/`."""
