// IEEE-754 binary32 multiplier core on unpacked operands (fp32_unpack.sv): round to nearest
// even, one product per clock, LATENCY (5) rising edges from in_valid to out_valid, the
// product as binary32 bits. Both significands arrive normalised (leading one hidden), so
// their product has its leading one in one of its two top bits: no leading-zero count,
// one 1-bit normalising step, and a right shift only for a product below the normal range
// (gradual underflow). Bit-exact with numpy float32 (SUBNORMALS=1) or with the Xilinx
// flush-to-zero rules (SUBNORMALS=0; operands are flushed by fp32_unpack, a result that
// is subnormal after rounding leaves as a zero of its sign); every NaN is 32'h7fc00000.
//
// Narrow operand: `a` carries WB significand bits (hidden bit included: FP32 24, BF16 8,
// a lossy mantissa of m' bits m' + 1); its fraction's low 24 - WB bits are ignored, so
// WB <= 17 is one DSP48E1 (25 x 18), WB = 24 two.
//
// Stages: 1 the significands into the DSP48E1 input registers (AREG/BREG), the exponent
// sum and result class; 2 the product in the multiplier register (MREG), both candidate
// result exponents; 3 the DSP48E1 output register (PREG); 4 one right shift: the 1-bit
// normalisation and, below the normal range, the rest, with its sticky bit; 5 round, pack, overflow.
module fp32_mul_core #(
    parameter int SUBNORMALS = 1,
    parameter int WB = 24,  // significand bits of `a` (hidden bit included), 1..24
    localparam int PW = WB + 24  // product bits
) (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        in_valid,
    input  logic [35:0] a,  // fp32_unpack format
    input  logic [35:0] b,
    output logic        out_valid,
    output logic [31:0] y
);
  /* verilator lint_off UNUSEDPARAM */
  localparam int LATENCY = 5;  // documentation and fpref.py; the stages below are the latency
  /* verilator lint_on UNUSEDPARAM */
  localparam logic [31:0] QNAN = 32'h7fc0_0000;
  localparam logic [1:0] FINITE = 2'd0, ZERO = 2'd1, INF = 2'd2, NAN = 2'd3;

  // ---- stage 1: significands into the DSP input registers, exponent sum, class ----
  logic [1:0] ca, cb, kind0;
  assign ca = a[35:34];
  assign cb = b[35:34];
  always_comb begin
    if (ca == NAN || cb == NAN || (ca == INF && cb == ZERO) || (cb == INF && ca == ZERO)) kind0 = NAN;
    else if (ca == INF || cb == INF) kind0 = INF;
    else if (ca == ZERO || cb == ZERO) kind0 = ZERO;
    else kind0 = FINITE;
  end
  logic [WB-1:0]      s1_ma;  // DSP48E1 AREG / BREG: no other load
  logic [23:0]        s1_mb;
  logic               s1_valid, s1_sign;
  logic [1:0]         s1_kind;
  logic signed [10:0] s1_e;  // unbiased exponent of the product of the two significands in [1, 4)
  generate
    if (WB > 1) begin : g_wide
      always_ff @(posedge clk) s1_ma <= {1'b1, a[22-:WB-1]};
    end else begin : g_one
      always_ff @(posedge clk) s1_ma <= 1'b1;
    end
    if (WB < 24) begin : g_unused
      logic unused_low;  // the fraction bits below the narrow significand (zero for a widened narrow weight)
      assign unused_low = ^a[23-WB:0];
    end
  endgenerate
  always_ff @(posedge clk) begin
    if (!rst_n) s1_valid <= 1'b0;
    else s1_valid <= in_valid;
    s1_mb   <= {1'b1, b[22:0]};
    s1_sign <= a[33] ^ b[33];
    s1_kind <= kind0;
    s1_e    <= 11'($signed(a[32:23])) + 11'($signed(b[32:23]));
  end

  // ---- stages 2, 3: the product (MREG, PREG); the biased exponent for either leading bit ----
  logic [PW-1:0]      s2_p, s3_p;
  logic               s2_valid, s2_sign, s3_valid, s3_sign;
  logic [1:0]         s2_kind, s3_kind;
  logic signed [11:0] s2_e0, s3_e0;  // biased result exponent if the product's leading one is at PW-2
  always_ff @(posedge clk) begin
    if (!rst_n) {s2_valid, s3_valid} <= '0;
    else {s2_valid, s3_valid} <= {s1_valid, s2_valid};
    s2_p <= PW'(s1_ma) * PW'(s1_mb);
    s3_p <= s2_p;
    {s2_sign, s2_kind} <= {s1_sign, s1_kind};
    {s3_sign, s3_kind} <= {s2_sign, s2_kind};
    s2_e0 <= 12'(s1_e) + 12'sd127;
    s3_e0 <= s2_e0;
  end

  // ---- stage 4: the leading one to the top bit and, below the normal range, on to exponent 1: one right
  // shift of {product, 0} by 1 - (leading bit) + (1 - exponent); kept: the 24-bit significand and the round bit
  // (bits PW-1 .. PW-25 of the shifted value), and one sticky bit for every bit that lands below them or is lost.
  // A shift above 25 leaves only sticky, so the amount saturates at 31 (5 bits) ----
  logic signed [11:0] e4;
  logic [PW:0]        p0, below_bits;
  logic [4:0]         rsh;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [PW:0]        shifted;  // its top bit is 0, its bits below the round bit go to sticky
  /* verilator lint_on UNUSEDSIGNAL */
  always_comb begin
    e4  = s3_e0 + 12'(s3_p[PW-1]);  // biased exponent of the normalised product
    p0  = {s3_p, 1'b0};
    // normal: shift by p[PW-1] (0 keeps p << 1, 1 gives p); below: by that plus 1 - e4
    rsh = e4 >= 12'sd1 ? 5'(s3_p[PW-1]) : (e4 < -12'sd29 ? 5'd31 : 5'(12'sd1 - e4) + 5'(s3_p[PW-1]));
    shifted = p0 >> rsh;
    // p0[i] lands at i - rsh: below the round bit when i < rsh + PW - 25
    for (int i = 0; i <= PW; i++) below_bits[i] = p0[i] && (i < PW - 25 || 5'(i - (PW - 25)) < rsh);
  end
  logic          s4_valid, s4_sign, s4_below;
  logic [1:0]    s4_kind;
  logic [24:0]   s4_m;  // significand (24) and round bit
  logic [9:0]    s4_e;  // 1..382; with s4_m[24] == 0 it means a subnormal (field 0)
  always_ff @(posedge clk) begin
    if (!rst_n) s4_valid <= 1'b0;
    else s4_valid <= s3_valid;
    {s4_sign, s4_kind} <= {s3_sign, s3_kind};
    s4_below <= below_bits != '0;
    s4_m <= shifted[PW-1 -: 25];
    s4_e <= e4 >= 12'sd1 ? 10'(e4) : 10'd1;
  end

  // ---- stage 5: round to nearest even, pack, overflow, flush ----
  logic        rnd;
  logic [33:0] packed_mag;  // (e - 1) << 23 + 24-bit significand: the hidden bit carries into the exponent
  logic [31:0] result;
  always_comb begin
    rnd        = s4_m[0] && (s4_m[1] || s4_below);
    packed_mag = ({24'd0, s4_e - 10'd1} << 23) + {10'd0, s4_m[24:1]} + {33'd0, rnd};
    case (s4_kind)
      NAN:     result = QNAN;
      INF:     result = {s4_sign, 8'hff, 23'd0};
      ZERO:    result = {s4_sign, 31'd0};
      default: begin
        if (packed_mag >= 34'h0_7f80_0000) result = {s4_sign, 8'hff, 23'd0};
        else if (SUBNORMALS == 0 && packed_mag[30:23] == 8'd0) result = {s4_sign, 31'd0};
        else result = {s4_sign, packed_mag[30:0]};
      end
    endcase
  end

  always_ff @(posedge clk) begin
    if (!rst_n) out_valid <= 1'b0;
    else out_valid <= s4_valid;
    y <= result;
  end
endmodule
