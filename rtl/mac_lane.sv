// One MAC lane of rtl/mac_engine.sv: y[slot] = init + w0*x0 + w1*x1 + ..., one term a
// clock, each output one sequential float32 sum in term order, every product and sum rounded
// (pycompress.hw.fpref.FpUnits: bit-exact with numpy float32, or with flush to zero).
// Products: fp32_mul_core on unpacked operands (fp32_unpack format; the engine unpacks each
// activation once where it is loaded and each weight where it is decoded). Sums: fp32_add.
//
// The lanes of an engine run in lock step, so their control (which slot, first or last term,
// output bank) is made once per engine by mac_ctl.sv and reaches every lane already delayed to
// the clock it is used at: in_* with the operands (term clock T), rd_* (the accumulator read,
// T + 3), p_first / p_init (the product reaching the adder, T + 5: the first term adds to the
// bias instead of the stored sum), wr_* (the sum leaving the adder, T + 12).
// The SLOTS partial sums live in a memory read two clocks ahead of the product (registered read,
// then a register on the read data: the block-RAM output register, or a flip-flop after a LUT
// RAM) and written back when the sum leaves the adder; a last term's sum also goes into the output
// buffer at {par, slot[OSA-1:0]} (the engine applies the fused ReLU once, as it drains): two banks, so it drains one while
// the next outputs are computed into the other (registered read, a register after it: rd_data
// two clocks after ob_rd_en). Schedule rule: two terms of one slot >= SPACING = ADD_LATENCY + 3
// (10) clocks apart (no bypass).
module mac_lane #(
    parameter int SUBNORMALS = 1,
    parameter int WB = 24,      // weight significand bits (fp32_mul_core)
    parameter int SLOTS = 16,   // partial sums in flight (>= 1)
    parameter int OBUF_SLOTS = SLOTS,  // outputs of one bank: slot bits [OSA-1:0] address it (a power of two, or SLOTS)
    parameter int ACC_BLOCK = 0,   // 1: the accumulators ask for block RAM, 0: LUT RAM (pycompress.hw.plan.cost_rtl)
    parameter int OBUF_BLOCK = 0,  // the same for the output buffer
    localparam int SA = SLOTS > 1 ? $clog2(SLOTS) : 1,
    localparam int OSA = OBUF_SLOTS > 1 ? $clog2(OBUF_SLOTS) : 1
) (
    input  logic          clk,
    input  logic          rst_n,
    input  logic          in_valid,
    input  logic [35:0]   in_w,
    input  logic [35:0]   in_x,
    input  logic          rd_en,       // T + 3: read the slot's partial sum (not for a first term)
    input  logic [SA-1:0] rd_slot,
    input  logic          p_first,     // T + 5
    input  logic [31:0]   p_init,
    input  logic          wr_en,       // T + 12: the sum leaves the adder
    input  logic [SA-1:0] wr_slot,
    input  logic          wr_last,
    input  logic          wr_par,
    output logic [31:0]   out_sum,     // the sum leaving the adder (an output with wr_en && wr_last)
    input  logic          ob_rd_en,
    input  logic          ob_rd_par,
    input  logic [OSA-1:0] ob_rd_addr,
    output logic [31:0]   rd_data
);
  logic        p_valid, s_valid;
  logic [31:0] p, q1, q2, acc_in, s_sum;
  fp32_mul_core #(.SUBNORMALS(SUBNORMALS), .WB(WB)) u_mul (
      .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .a(in_w), .b(in_x), .out_valid(p_valid), .y(p)
  );
  // ---- partial sums: read two clocks ahead of the product, written back from the adder ----
  // the memory style must be a literal for the synthesis tools, hence the generate
  if (ACC_BLOCK != 0) begin : g_acc_bram
    (* ram_style = "block" *) logic [31:0] acc[SLOTS];
    always_ff @(posedge clk) begin
      if (rd_en) q1 <= acc[rd_slot];
      if (wr_en) acc[wr_slot] <= s_sum;
    end
  end else begin : g_acc_lut
    (* ram_style = "distributed" *) logic [31:0] acc[SLOTS];
    always_ff @(posedge clk) begin
      if (rd_en) q1 <= acc[rd_slot];
      if (wr_en) acc[wr_slot] <= s_sum;
    end
  end
  always_ff @(posedge clk) q2 <= q1;
  assign acc_in = p_first ? p_init : q2;
  fp32_add #(.SUBNORMALS(SUBNORMALS)) u_add (
      .clk(clk), .rst_n(rst_n), .in_valid(p_valid), .a(acc_in), .b(p), .out_valid(s_valid), .y(s_sum)
  );

  // ---- output buffer ----
  logic [31:0] o1;
  if (OBUF_BLOCK != 0) begin : g_obuf_bram
    (* ram_style = "block" *) logic [31:0] obuf[2 << OSA];
    always_ff @(posedge clk) begin
      if (wr_en && wr_last) obuf[{wr_par, wr_slot[OSA-1:0]}] <= s_sum;
      if (ob_rd_en) o1 <= obuf[{ob_rd_par, ob_rd_addr}];
    end
  end else begin : g_obuf_lut
    (* ram_style = "distributed" *) logic [31:0] obuf[2 << OSA];
    always_ff @(posedge clk) begin
      if (wr_en && wr_last) obuf[{wr_par, wr_slot[OSA-1:0]}] <= s_sum;
      if (ob_rd_en) o1 <= obuf[{ob_rd_par, ob_rd_addr}];
    end
  end
  always_ff @(posedge clk) rd_data <= o1;
  assign out_sum = s_sum;
  logic unused_ok;
  assign unused_ok = s_valid;
endmodule
