// The control of a group of mac_lane.sv lanes running in lock step, made once: a term entering at
// clock T tagged (valid, slot, first, last, par, init) becomes the accumulator read at T + 3, the
// first-term choice and the bias at T + 5 (with the product), and the write at T + 12 (with the
// sum). Delay lines only; the numbers are fp32_mul_core LATENCY (5) and fp32_add LATENCY (7).
module mac_ctl #(
    parameter int SA = 4
) (
    input  logic          clk,
    input  logic          rst_n,
    input  logic          in_valid,
    input  logic [SA-1:0] in_slot,
    input  logic          in_first,
    input  logic          in_last,
    input  logic          in_par,
    input  logic [31:0]   in_init,
    output logic          rd_en,
    output logic [SA-1:0] rd_slot,
    output logic          p_first,
    output logic [31:0]   p_init,
    output logic          wr_en,
    output logic [SA-1:0] wr_slot,
    output logic          wr_last,
    output logic          wr_par
);
  localparam int MUL_LATENCY = 5;  // fp32_mul_core LATENCY
  localparam int ADD_LATENCY = 7;  // fp32_add LATENCY
  localparam int TW = SA + 36;     // {valid, slot, first, last, par, init}
  logic [TW-1:0] mtag[MUL_LATENCY];
  always_ff @(posedge clk) begin
    mtag[0] <= {in_valid && rst_n, in_slot, in_first, in_last, in_par, in_init};
    for (int j = 1; j < MUL_LATENCY; j++) mtag[j] <= mtag[j-1];
  end
  logic          r_valid, r_first, p_valid, p_last, p_par;
  logic [SA-1:0] p_slot;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [TW-1:0] r_tag;
  /* verilator lint_on UNUSEDSIGNAL */
  assign r_tag = mtag[MUL_LATENCY-3];  // the read is issued two clocks ahead of the product
  assign {r_valid, rd_slot, r_first} = r_tag[TW-1:TW-SA-2];
  assign rd_en = r_valid && !r_first;
  assign {p_valid, p_slot, p_first, p_last, p_par, p_init} = mtag[MUL_LATENCY-1];
  logic [SA+2:0] atag[ADD_LATENCY];  // {valid, slot, last, par}
  always_ff @(posedge clk) begin
    atag[0] <= {p_valid && rst_n, p_slot, p_last, p_par};
    for (int j = 1; j < ADD_LATENCY; j++) atag[j] <= atag[j-1];
  end
  assign {wr_en, wr_slot, wr_last, wr_par} = atag[ADD_LATENCY-1];
endmodule
