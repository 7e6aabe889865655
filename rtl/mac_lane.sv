// One MAC lane of rtl/mac_engine.sv: y[slot] = relu?(init + w0*x0 + w1*x1 + ...), one term a
// clock, each output one sequential float32 sum in term order, every product and sum rounded
// (pycompress.hw.fpref.FpUnits: bit-exact with numpy float32, or with flush to zero).
// Products: fp32_mul_core on unpacked operands (fp32_unpack format; the engine unpacks each
// activation once where it is loaded and each weight where it is decoded). Sums: fp32_add.
//
// The SLOTS partial sums live in a memory read two clocks ahead of the product (registered
// read, then a register on the read data: the block-RAM output register, or a flip-flop after
// a LUT RAM) and written back when the sum leaves the adder. Schedule rule: two terms of the
// same slot enter at least SPACING = ADD_LATENCY + 3 (10) clocks apart (no bypass). A term
// tagged `first` adds to `init` (the bias) instead of the stored sum; one tagged `last` also
// writes its sum, through the fused ReLU, into the output buffer at {par, slot}: two banks,
// so the engine drains one while the next outputs are computed into the other. The output
// buffer has a registered read with a register after it: rd_data two clocks after rd_en.
// out_valid/out_slot/out_sum report each finished output (for the engine and its tests).
module mac_lane #(
    parameter int SUBNORMALS = 1,
    parameter int WB = 24,      // weight significand bits (fp32_mul_core)
    parameter int SLOTS = 16,   // outputs in flight (>= 1)
    parameter int RELU = 0,
    parameter int ACC_BLOCK = 0,   // 1: the accumulators ask for block RAM, 0: LUT RAM (pycompress.hw.plan.cost_rtl)
    parameter int OBUF_BLOCK = 0,  // the same for the output buffer
    localparam int SA = SLOTS > 1 ? $clog2(SLOTS) : 1
) (
    input  logic          clk,
    input  logic          rst_n,
    input  logic          in_valid,
    input  logic [SA-1:0] in_slot,
    input  logic          in_first,
    input  logic          in_last,
    input  logic          in_par,
    input  logic [31:0]   in_init,
    input  logic [35:0]   in_w,
    input  logic [35:0]   in_x,
    output logic          out_valid,
    output logic [SA-1:0] out_slot,
    output logic [31:0]   out_sum,
    input  logic          rd_en,
    input  logic          rd_par,
    input  logic [SA-1:0] rd_addr,
    output logic [31:0]   rd_data
);
  localparam int MUL_LATENCY = 5;  // fp32_mul_core LATENCY
  localparam int ADD_LATENCY = 7;  // fp32_add LATENCY
  localparam int TW = SA + 36;     // tag: {valid, slot, first, last, par, init}

  // ---- products; the tags travel beside the multiplier ----
  logic        p_valid;
  logic [31:0] p;
  fp32_mul_core #(.SUBNORMALS(SUBNORMALS), .WB(WB)) u_mul (
      .clk(clk), .rst_n(rst_n), .in_valid(in_valid), .a(in_w), .b(in_x), .out_valid(p_valid), .y(p)
  );
  logic [TW-1:0] mtag[MUL_LATENCY];
  always_ff @(posedge clk) begin
    mtag[0] <= {in_valid, in_slot, in_first, in_last, in_par, in_init};
    for (int j = 1; j < MUL_LATENCY; j++) mtag[j] <= mtag[j-1];
  end
  logic          r_valid, r_first, p_tv, p_first, p_last, p_par;
  logic [SA-1:0] r_slot, p_slot;
  logic [31:0]   p_init;
  /* verilator lint_off UNUSEDSIGNAL */
  logic          r_last, r_par;
  logic [31:0]   r_init;
  /* verilator lint_on UNUSEDSIGNAL */
  assign {r_valid, r_slot, r_first, r_last, r_par, r_init} = mtag[MUL_LATENCY-3];  // read issued 2 clocks ahead
  assign {p_tv, p_slot, p_first, p_last, p_par, p_init} = mtag[MUL_LATENCY-1];

  // ---- partial sums: read two clocks ahead of the product, written back from the adder ----
  logic [31:0]   q1, q2, acc_in, s_sum, y;
  logic          s_valid, s_last, s_par;
  logic [SA-1:0] s_slot;
  // the memory style must be a literal for the synthesis tools, hence the generate
  if (ACC_BLOCK != 0) begin : g_acc_bram
    (* ram_style = "block" *) logic [31:0] acc[SLOTS];
    always_ff @(posedge clk) begin
      if (r_valid && !r_first) q1 <= acc[r_slot];
      if (s_valid) acc[s_slot] <= s_sum;
    end
  end else begin : g_acc_lut
    (* ram_style = "distributed" *) logic [31:0] acc[SLOTS];
    always_ff @(posedge clk) begin
      if (r_valid && !r_first) q1 <= acc[r_slot];
      if (s_valid) acc[s_slot] <= s_sum;
    end
  end
  always_ff @(posedge clk) q2 <= q1;
  assign acc_in = p_first ? p_init : q2;
  fp32_add #(.SUBNORMALS(SUBNORMALS)) u_add (
      .clk(clk), .rst_n(rst_n), .in_valid(p_valid), .a(acc_in), .b(p), .out_valid(s_valid), .y(s_sum)
  );
  logic [SA+1:0] atag[ADD_LATENCY];  // {slot, last, par}
  always_ff @(posedge clk) begin
    atag[0] <= {p_slot, p_last, p_par};
    for (int j = 1; j < ADD_LATENCY; j++) atag[j] <= atag[j-1];
  end
  assign {s_slot, s_last, s_par} = atag[ADD_LATENCY-1];

  // ---- fused ReLU as the reference: y > 0 ? y : +0 (negatives, -0 and NaN give +0); output buffer ----
  assign y = RELU != 0 && (s_sum[31] || (s_sum[30:23] == 8'hff && s_sum[22:0] != 0)) ? 32'd0 : s_sum;
  logic [31:0] o1;
  if (OBUF_BLOCK != 0) begin : g_obuf_bram
    (* ram_style = "block" *) logic [31:0] obuf[2 << SA];
    always_ff @(posedge clk) begin
      if (s_valid && s_last) obuf[{s_par, s_slot}] <= y;
      if (rd_en) o1 <= obuf[{rd_par, rd_addr}];
    end
  end else begin : g_obuf_lut
    (* ram_style = "distributed" *) logic [31:0] obuf[2 << SA];
    always_ff @(posedge clk) begin
      if (s_valid && s_last) obuf[{s_par, s_slot}] <= y;
      if (rd_en) o1 <= obuf[{rd_par, rd_addr}];
    end
  end
  always_ff @(posedge clk) rd_data <= o1;
  assign out_valid = s_valid && s_last;
  assign out_slot = s_slot;
  assign out_sum = y;
  logic unused_ok;
  assign unused_ok = p_tv;
endmodule
