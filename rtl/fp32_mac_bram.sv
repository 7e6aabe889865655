// Multiply-accumulate into a block-RAM accumulator bank of DEPTH sums (a conv lane's
// groups x pixels), which is also the lane's output buffer. Terms (w, x) enter one a
// clock, tagged with their accumulator (in_slot) and whether they are the output's
// first term (the sum starts from in_init, the bias, instead of the stored value)
// or last (the sum is written back through the fused ReLU and reported on out_*).
// Products go through fp32_mul, sums through fp32_add; the accumulator is read one
// clock before the product reaches the adder (the RAM's registered read) and the
// new sum is written back when it leaves the adder.
//
// Schedule rule: two terms of the same slot enter at least 6 clocks apart (read of
// the next term after the write of the previous one; no bypass, the conv schedule
// revisits a slot only after groups x pixels terms). Each output is then the
// sequential float32 sum init + t0 + t1 + ..., every product and sum rounded
// (pycompress.hw.fpref.FpUnits.conv2d). The read port is shared: rd_en/rd_addr read
// the bank (data on rd_data the next clock) while no term is in flight.
module fp32_mac_bram #(
    parameter int SUBNORMALS = 1,
    parameter int DEPTH = 64,
    parameter int RELU = 0,
    localparam int AW = DEPTH > 1 ? $clog2(DEPTH) : 1
) (
    input  logic          clk,
    input  logic          rst_n,
    input  logic          in_valid,
    input  logic [AW-1:0] in_slot,
    input  logic          in_first,
    input  logic          in_last,
    input  logic [31:0]   in_init,
    input  logic [31:0]   in_w,
    input  logic [31:0]   in_x,
    output logic          out_valid,
    output logic [AW-1:0] out_slot,
    input  logic          rd_en,
    input  logic [AW-1:0] rd_addr,
    output logic [31:0]   rd_data
);
  localparam int MUL_LATENCY = 3;  // fp32_mul LATENCY
  localparam int ADD_LATENCY = 4;  // fp32_add LATENCY

  // ---- products, with the tags travelling beside the multiplier ----
  logic        p_valid;
  logic [31:0] p;
  fp32_mul #(.SUBNORMALS(SUBNORMALS)) u_mul (
      .clk, .rst_n, .in_valid, .a(in_w), .b(in_x), .out_valid(p_valid), .y(p)
  );
  logic [AW+34:0] mtag[MUL_LATENCY];  // {valid, slot, first, last, init}
  always_ff @(posedge clk) begin
    mtag[0] <= {in_valid, in_slot, in_first, in_last, in_init};
    for (int j = 1; j < MUL_LATENCY; j++) mtag[j] <= mtag[j-1];
  end
  logic          r_valid, p_tv, p_first, p_last, r_first, r_last;
  logic [AW-1:0] p_slot, r_slot;
  logic [31:0]   p_init, r_init;
  assign {r_valid, r_slot, r_first, r_last, r_init} = mtag[MUL_LATENCY-2];  // read issued one clock ahead
  assign {p_tv, p_slot, p_first, p_last, p_init} = mtag[MUL_LATENCY-1];

  // ---- the bank: one write port (sums), one registered read port (accumulate or rd_*) ----
  (* ram_style = "block" *) logic [31:0] mem[DEPTH];
  logic [31:0]   q, acc_in, s_sum, wdata;
  logic          s_valid, s_last, acc_rd;
  logic [AW-1:0] s_slot, raddr;
  assign acc_rd = r_valid && !r_first;
  assign raddr = acc_rd ? r_slot : rd_addr;
  assign acc_in = p_first ? p_init : q;
  fp32_add #(.SUBNORMALS(SUBNORMALS)) u_add (
      .clk, .rst_n, .in_valid(p_valid), .a(acc_in), .b(p), .out_valid(s_valid), .y(s_sum)
  );
  logic [AW:0] atag[ADD_LATENCY];  // {slot, last}
  always_ff @(posedge clk) begin
    atag[0] <= {p_slot, p_last};
    for (int j = 1; j < ADD_LATENCY; j++) atag[j] <= atag[j-1];
  end
  assign {s_slot, s_last} = atag[ADD_LATENCY-1];
  // fused ReLU on the finished sum, as the reference: y > 0 ? y : +0 (negatives, -0 and NaN give +0)
  assign wdata = RELU != 0 && s_last && (s_sum[31] || (s_sum[30:23] == 8'hff && s_sum[22:0] != 0)) ? 32'd0 : s_sum;
  always_ff @(posedge clk) begin
    if (s_valid) mem[s_slot] <= wdata;
    if (acc_rd || rd_en) q <= mem[raddr];
  end
  assign rd_data = q;
  assign out_valid = s_valid && s_last;
  assign out_slot = s_slot;
  logic unused_ok;
  assign unused_ok = ^{p_tv, r_last, r_init};
endmodule
