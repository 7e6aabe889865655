// An IEEE-754 binary32 operand taken apart for the multiplier core (fp32_mul_core.sv):
// class, sign, the unbiased exponent of the normalised significand and its 23 fraction
// bits. A subnormal is normalised here (its leading one moved to the hidden position, the
// exponent lowered to -127..-149), so the core's product needs no leading-zero count.
// Combinational: the engines register it where an activation is loaded (once per word,
// shared by every lane that reads it); fp32_mul.sv registers it in front of the core.
//
// SUBNORMALS=0: a subnormal is a zero of its own sign (PG109 flush to zero).
// FB: fraction bits that can be nonzero (23; a widened weight of a narrower format has only
// its top FB = WB - 1): the normalisation of a subnormal then looks at those bits only.
// u = {cls[1:0], sign, exp[9:0] (two's complement), frac[22:0]}: 36 bits, one RAMB18 word.
// cls: 0 finite, 1 zero, 2 infinity, 3 NaN (exp and frac are then don't-care).
module fp32_unpack #(
    parameter int SUBNORMALS = 1,
    parameter int FB = 23
) (
    input  logic [31:0] x,
    output logic [35:0] u
);
  localparam logic [1:0] FINITE = 2'd0, ZERO = 2'd1, INF = 2'd2, NAN = 2'd3;
  logic        sub, zero;
  logic [4:0]  lz;  // leading zeros of a subnormal's fraction (0..22)
  logic [22:0] frac;
  logic [9:0]  e;
  logic [1:0]  cls;
  always_comb begin
    sub  = x[30:23] == 8'h00;
    zero = sub && (SUBNORMALS == 0 || x[22:0] == 23'd0);
    lz   = 5'd0;
    for (int i = 23 - FB; i < 23; i++) if (x[i]) lz = 5'(22 - i);
    if (sub && SUBNORMALS != 0) begin
      frac = x[22:0] << (lz + 5'd1);  // the leading one leaves as the hidden bit
      e    = -10'sd127 - 10'(lz);
    end else begin
      frac = x[22:0];
      e    = 10'(x[30:23]) - 10'd127;
    end
    if (x[30:23] == 8'hff) cls = x[22:0] == 23'd0 ? INF : NAN;
    else if (zero) cls = ZERO;
    else cls = FINITE;
    u = {cls, x[31], e, frac};
  end
endmodule
