// IEEE-754 binary32 multiplier on binary32 bit patterns: both operands unpacked
// (fp32_unpack.sv: subnormals normalised, or flushed with SUBNORMALS=0) into one register
// stage, then fp32_mul_core.sv. Round to nearest even, one product per clock,
// LATENCY (6) rising edges from the edge that samples in_valid to out_valid; a valid
// pipeline without backpressure. Bit-exact with pycompress/hw/fpref.py (numpy float32
// with SUBNORMALS=1, the Xilinx flush-to-zero rules with 0; every NaN 32'h7fc00000).
// The engines unpack an activation once where it is loaded and use the core directly.
//
// WB: significand bits of `a` (hidden bit included): FP32 24, BF16 8, a lossy mantissa of
// m' bits m' + 1; its low 24 - WB significand bits must be zero (a widened narrower format
// always has them zero): the product is WB x 24 bits, one DSP48E1 for WB <= 17.
module fp32_mul #(
    parameter int SUBNORMALS = 1,
    parameter int WB = 24
) (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        in_valid,
    input  logic [31:0] a,
    input  logic [31:0] b,
    output logic        out_valid,
    output logic [31:0] y
);
  /* verilator lint_off UNUSEDPARAM */
  localparam int LATENCY = 6;  // 1 (unpack) + fp32_mul_core LATENCY; fpref.py MUL_LATENCY
  /* verilator lint_on UNUSEDPARAM */
  logic [35:0] ua, ub, ua_q, ub_q;
  logic        v_q;
  fp32_unpack #(.SUBNORMALS(SUBNORMALS)) u_ua (.x(a), .u(ua));
  fp32_unpack #(.SUBNORMALS(SUBNORMALS)) u_ub (.x(b), .u(ub));
  always_ff @(posedge clk) begin
    if (!rst_n) v_q <= 1'b0;
    else v_q <= in_valid;
    ua_q <= ua;
    ub_q <= ub;
  end
  fp32_mul_core #(.SUBNORMALS(SUBNORMALS), .WB(WB)) u_core (
      .clk(clk), .rst_n(rst_n), .in_valid(v_q), .a(ua_q), .b(ub_q), .out_valid(out_valid), .y(y)
  );
endmodule
