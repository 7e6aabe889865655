"""RTL writers: memory images for the decoders and streamers, the generated whole-network engine
(plan, lane allocation, rendering), the Huffman streamer images, Yosys resource reports. The
SystemVerilog itself lives in the repository's `rtl/` folder; templates in `rtl/templates/`."""
