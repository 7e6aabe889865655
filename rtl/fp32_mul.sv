// IEEE-754 binary32 multiplier: round to nearest even, one product per clock,
// LATENCY (3) rising edges from the edge that samples in_valid to out_valid.
// A valid pipeline without backpressure: the caller schedules around LATENCY.
//
// SUBNORMALS=1: gradual underflow, bit-exact with numpy float32.
// SUBNORMALS=0: flush to zero as the Xilinx Floating-Point Operator does (PG109):
//   a subnormal operand is a zero of its own sign, and a result that is subnormal
//   after rounding leaves as a zero with the product's sign (so a product rounding
//   up to the smallest normal stays normal).
// Every NaN result is the canonical quiet NaN 32'h7fc00000 (payloads are not
// propagated); pycompress/hw/fpref.py models exactly this.
//
// Stages: 1 unpack + 24x24 significand product (DSP), 2 leading-zero count and
// normalising / denormalising shift, 3 round, pack, overflow to infinity, flush.
module fp32_mul #(
    parameter int SUBNORMALS = 1
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
  localparam int LATENCY = 3;  // documentation and fpref.py; the stages below are the latency
  /* verilator lint_on UNUSEDPARAM */
  localparam logic [31:0] QNAN = 32'h7fc0_0000;
  localparam logic [1:0] FINITE = 2'd0, ZERO = 2'd1, INF = 2'd2, NAN = 2'd3;

  function automatic logic [5:0] lzc48(input logic [47:0] x);
    lzc48 = 6'd48;
    for (int i = 0; i < 48; i++) if (x[i]) lzc48 = 6'(47 - i);
  endfunction

  // ---- stage 1: classify, significand product, exponent sum ----
  logic a_sub, b_sub, a_zero, b_zero, a_inf, b_inf, a_nan, b_nan;
  logic [23:0] ma, mb;
  logic [1:0] kind0;
  always_comb begin
    a_sub  = a[30:23] == 8'h00;
    b_sub  = b[30:23] == 8'h00;
    a_zero = a_sub && (SUBNORMALS == 0 || a[22:0] == 23'd0);
    b_zero = b_sub && (SUBNORMALS == 0 || b[22:0] == 23'd0);
    a_inf  = a[30:23] == 8'hff && a[22:0] == 23'd0;
    b_inf  = b[30:23] == 8'hff && b[22:0] == 23'd0;
    a_nan  = a[30:23] == 8'hff && a[22:0] != 23'd0;
    b_nan  = b[30:23] == 8'hff && b[22:0] != 23'd0;
    ma     = a_zero ? 24'd0 : {!a_sub, a[22:0]};
    mb     = b_zero ? 24'd0 : {!b_sub, b[22:0]};
    if (a_nan || b_nan || (a_inf && b_zero) || (b_inf && a_zero)) kind0 = NAN;
    else if (a_inf || b_inf) kind0 = INF;
    else if (a_zero || b_zero) kind0 = ZERO;
    else kind0 = FINITE;
  end

  logic              s1_valid, s1_sign;
  logic [1:0]        s1_kind;
  logic [47:0]       s1_p;
  logic signed [9:0] s1_e;  // biased exponent of the product with its point after bit 46: -125..381

  always_ff @(posedge clk) begin
    if (!rst_n) s1_valid <= 1'b0;
    else s1_valid <= in_valid;
    s1_sign <= a[31] ^ b[31];
    s1_kind <= kind0;
    s1_p    <= ma * mb;
    // a subnormal operand has effective exponent 1
    s1_e    <= $signed({2'b00, a_sub ? 8'd1 : a[30:23]}) + $signed({2'b00, b_sub ? 8'd1 : b[30:23]}) - 10'sd127;
  end

  // ---- stage 2: normalise (left by the leading zeros) or denormalise (exponent pinned at 1) ----
  logic [5:0]  lz;
  logic [95:0] right;
  logic [47:0] m1;
  logic        sticky1;
  logic [9:0]  e1;
  always_comb begin
    // without subnormal operands a nonzero product has its leading one at bit 47 or 46
    lz      = SUBNORMALS != 0 ? lzc48(s1_p) : {5'd0, !s1_p[47]};
    right   = 96'd0;
    sticky1 = 1'b0;
    if (s1_e >= $signed({4'b0, lz})) begin  // normal result: exponent s1_e + 1 - lz >= 1
      m1 = s1_p << lz;
      e1 = 10'(s1_e + 10'sd1 - $signed({4'b0, lz}));
    end else if (s1_e >= 0) begin  // subnormal result, still a left shift
      m1 = s1_p << s1_e[5:0];
      e1 = 10'd1;
    end else begin  // subnormal result below the product's point: shift right, keep a sticky bit
      right   = {s1_p, 48'd0} >> ((s1_e < -10'sd63) ? 6'd63 : 6'(-s1_e));
      m1      = right[95:48];
      sticky1 = |right[47:0];
      e1      = 10'd1;
    end
  end

  logic        s2_valid, s2_sign, s2_sticky;
  logic [1:0]  s2_kind;
  logic [47:0] s2_m;
  logic [9:0]  s2_e;  // 1..382; with s2_m[47] == 0 it means a subnormal (field 0)

  always_ff @(posedge clk) begin
    if (!rst_n) s2_valid <= 1'b0;
    else s2_valid <= s1_valid;
    s2_sign   <= s1_sign;
    s2_kind   <= s1_kind;
    s2_m      <= m1;
    s2_e      <= e1;
    s2_sticky <= sticky1;
  end

  // ---- stage 3: round to nearest even, pack, overflow, flush ----
  logic        rnd;
  logic [33:0] packed_mag;  // (e - 1) << 23 + 24-bit significand: the hidden bit carries into the exponent
  logic [31:0] result;
  always_comb begin
    rnd        = s2_m[23] && (s2_m[24] || s2_m[22:0] != 23'd0 || s2_sticky);
    packed_mag = ({24'd0, s2_e - 10'd1} << 23) + {10'd0, s2_m[47:24]} + {33'd0, rnd};
    case (s2_kind)
      NAN:     result = QNAN;
      INF:     result = {s2_sign, 8'hff, 23'd0};
      ZERO:    result = {s2_sign, 31'd0};
      default: begin
        if (packed_mag >= 34'h0_7f80_0000) result = {s2_sign, 8'hff, 23'd0};
        else if (SUBNORMALS == 0 && packed_mag[30:23] == 8'd0) result = {s2_sign, 31'd0};
        else result = {s2_sign, packed_mag[30:0]};
      end
    endcase
  end

  always_ff @(posedge clk) begin
    if (!rst_n) out_valid <= 1'b0;
    else out_valid <= s2_valid;
    y <= result;
  end
endmodule
