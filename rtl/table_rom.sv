// Synchronous-read table memory (one per field per layer), initialised by $readmemh.
// The registered read with enable is the pattern Vivado and Yosys map to block RAM
// (or LUT RAM for tiny tables). Under Verilator a plusarg may name the image at run
// time, so one simulator build serves every layer of a format.
module table_rom #(
    parameter int WIDTH = 8,
    parameter int DEPTH = 256,
    parameter int ADDR_BITS = (DEPTH > 1) ? $clog2(DEPTH) : 1,
    parameter INIT_FILE = "",
    parameter PLUSARG = "",
    parameter int BLOCK = 1  // 1: ask for block RAM; 0: leave small ROMs to the tool (LUTs)
) (
    input  logic                 clk,
    input  logic                 en,
    input  logic [ADDR_BITS-1:0] addr,
    output logic [WIDTH-1:0]     data
);
  logic [WIDTH-1:0] rdata;
  assign data = rdata;

  // The ram_style attribute must be a literal for the synthesis tools, hence the generate.
  generate
    if (BLOCK == 0) begin : g_lut
      logic [WIDTH-1:0] mem [0:DEPTH-1];
      initial begin
`ifdef VERILATOR
        string path;
        if (PLUSARG != "" && $value$plusargs({PLUSARG, "=%s"}, path)) $readmemh(path, mem);
        else
`endif
        if (INIT_FILE != "") $readmemh(INIT_FILE, mem);
      end
      always_ff @(posedge clk) if (en) rdata <= mem[addr];
    end else begin : g_bram
      (* ram_style = "block", rom_style = "block" *)
      logic [WIDTH-1:0] mem [0:DEPTH-1];
      initial begin
`ifdef VERILATOR
        string path;
        if (PLUSARG != "" && $value$plusargs({PLUSARG, "=%s"}, path)) $readmemh(path, mem);
        else
`endif
        if (INIT_FILE != "") $readmemh(INIT_FILE, mem);
      end
      always_ff @(posedge clk) if (en) rdata <= mem[addr];
    end
  endgenerate
endmodule
