// Element-wise sum of two equally long streams, the join of a residual connection: y = a + b word by word
// in one fp32_add (pycompress/hw/hls/reference.py: the add of two activations; IEEE addition is
// commutative, and every NaN is the canonical one, so the operand order does not show); RELU = 1 takes
// the ReLU after it as the reference has it: y > 0 ? y : +0 (a NaN gives +0). Words are taken from both
// inputs together while the adder and the output FIFO have room for them (a credit of DEPTH words: the
// adder has no backpressure); the output keeps stream order, with input a's tlast.
module add_unit #(
    parameter int SUBNORMALS = 1,
    parameter int RELU = 0,
    parameter int DEPTH = 16,
    localparam int CW = $clog2(DEPTH + 1),
    localparam int AW = $clog2(DEPTH)
) (
    input  logic        clk,
    input  logic        rst_n,
    output logic        busy,
    input  logic        a_tvalid,
    output logic        a_tready,
    input  logic [31:0] a_tdata,
    input  logic        a_tlast,
    input  logic        b_tvalid,
    output logic        b_tready,
    input  logic [31:0] b_tdata,
    output logic        m_axis_tvalid,
    input  logic        m_axis_tready,
    output logic [31:0] m_axis_tdata,
    output logic        m_axis_tlast
);
  logic          take, add_v, fifo_ready;
  logic [31:0]   add_y, out_y;
  logic [CW-1:0] inflight, queued;
  logic [AW-1:0] wp, rp;
  logic          lasts[DEPTH];  // tlast of each word in the adder, in order

  assign take = a_tvalid && b_tvalid && (inflight + queued < CW'(DEPTH));
  assign a_tready = take;
  assign b_tready = take;
  assign busy = inflight != '0 || m_axis_tvalid;

  fp32_add #(.SUBNORMALS(SUBNORMALS)) u_add (
      .clk(clk), .rst_n(rst_n), .in_valid(take), .a(a_tdata), .b(b_tdata), .out_valid(add_v), .y(add_y)
  );

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      inflight <= '0;
      wp <= '0;
      rp <= '0;
    end else begin
      inflight <= inflight + CW'(take) - CW'(add_v);
      if (take) begin
        lasts[wp] <= a_tlast;
        wp <= wp == AW'(DEPTH - 1) ? '0 : wp + 1'b1;
      end
      if (add_v) rp <= rp == AW'(DEPTH - 1) ? '0 : rp + 1'b1;
    end
  end

  // ReLU: positive (sign 0, not a NaN) stays, everything else is +0
  assign out_y = (RELU == 0 || (!add_y[31] && !(&add_y[30:23] && |add_y[22:0]))) ? add_y : 32'd0;

  sync_fifo #(.WIDTH(33), .DEPTH(DEPTH)) u_out (
      .clk(clk), .rst_n(rst_n), .s_valid(add_v), .s_ready(fifo_ready), .s_data({lasts[rp], out_y}),
      .m_valid(m_axis_tvalid), .m_ready(m_axis_tready), .m_data({m_axis_tlast, m_axis_tdata}), .count(queued)
  );
  logic unused;
  assign unused = fifo_ready;  // always ready: the credit keeps inflight + queued <= DEPTH
endmodule
