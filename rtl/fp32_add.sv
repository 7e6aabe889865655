// IEEE-754 binary32 adder: round to nearest even, one sum per clock,
// LATENCY (7) rising edges from the edge that samples in_valid to out_valid.
// A valid pipeline without backpressure: the caller schedules around LATENCY
// (an accumulator bank of at least LATENCY entries hides it, see fp32_mac_bank.sv).
//
// SUBNORMALS=1: gradual underflow, bit-exact with numpy float32.
// SUBNORMALS=0: flush to zero as the Xilinx Floating-Point Operator does (PG109):
//   a subnormal operand is a zero of its own sign, a subnormal result (always exact
//   in an addition) leaves as a zero with the sum's sign.
// Exact zeros follow IEEE: x + (-x) = +0, (-0) + (-0) = -0.
// Every NaN result is the canonical quiet NaN 32'h7fc00000 (payloads are not
// propagated); pycompress/hw/fpref.py models exactly this.
//
// Stages (each a few LUT levels or one carry chain, for 100 MHz on a -1 7-series part):
// 1 classify, compare the magnitudes, both exponent differences; 2 order (larger
// first), alignment shift by a multiple of 4 with its sticky bit; 3 the last 0..3 bits
// of the alignment; 4 add or subtract; 5 leading-zero count and the normalising shift
// amount (pinned at exponent 1 for subnormal sums); 6 normalise; 7 round, pack,
// overflow, flush.
module fp32_add #(
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
  localparam int LATENCY = 7;  // documentation and fpref.py; the stages below are the latency
  /* verilator lint_on UNUSEDPARAM */
  localparam logic [31:0] QNAN = 32'h7fc0_0000;
  localparam logic [1:0] FINITE = 2'd0, INF = 2'd2, NAN = 2'd3;

  function automatic logic [4:0] lzc27(input logic [26:0] x);
    lzc27 = 5'd27;
    for (int i = 0; i < 27; i++) if (x[i]) lzc27 = 5'(26 - i);
  endfunction

  // ---- stage 1: classify, compare magnitudes, exponent differences ----
  logic        a_sub, b_sub, a_inf, b_inf, a_nan, b_nan;
  logic [30:0] a_mag, b_mag;
  logic [7:0]  ea, eb;
  logic [1:0]  kind0;
  always_comb begin
    a_sub  = a[30:23] == 8'h00;
    b_sub  = b[30:23] == 8'h00;
    a_inf  = a[30:23] == 8'hff && a[22:0] == 23'd0;
    b_inf  = b[30:23] == 8'hff && b[22:0] == 23'd0;
    a_nan  = a[30:23] == 8'hff && a[22:0] != 23'd0;
    b_nan  = b[30:23] == 8'hff && b[22:0] != 23'd0;
    // a flushed operand must not win the ordering (with gradual underflow a zero is all zeros already)
    a_mag  = SUBNORMALS == 0 && a_sub ? 31'd0 : a[30:0];
    b_mag  = SUBNORMALS == 0 && b_sub ? 31'd0 : b[30:0];
    ea     = {a_mag[30:24], a_mag[23] | a_sub};  // subnormal: effective exponent 1
    eb     = {b_mag[30:24], b_mag[23] | b_sub};
    if (a_nan || b_nan || (a_inf && b_inf && a[31] != b[31])) kind0 = NAN;
    else if (a_inf || b_inf) kind0 = INF;
    else kind0 = FINITE;
  end

  logic        s1_valid, s1_swap, s1_sa, s1_sb, s1_isign;
  logic [1:0]  s1_kind;
  logic [30:0] s1_a, s1_b;
  logic [7:0]  s1_dab, s1_dba;
  always_ff @(posedge clk) begin
    if (!rst_n) s1_valid <= 1'b0;
    else s1_valid <= in_valid;
    s1_kind  <= kind0;
    s1_a     <= a_mag;
    s1_b     <= b_mag;
    s1_sa    <= a[31];
    s1_sb    <= b[31];
    s1_isign <= a_inf ? a[31] : b[31];  // sign of an infinite result
    s1_swap  <= b_mag > a_mag;
    s1_dab   <= ea - eb;
    s1_dba   <= eb - ea;
  end

  // ---- stage 2: larger magnitude first; the smaller's significand (27 bits: significand, guard, round,
  // sticky) shifted right by the multiple of 4 of the alignment, the bits it loses ORed into a sticky bit ----
  logic [30:0] hi, lo;
  logic [7:0]  d;
  logic [4:0]  sh2;
  logic [26:0] v2, coarse, lost2;
  always_comb begin
    hi     = s1_swap ? s1_b : s1_a;
    lo     = s1_swap ? s1_a : s1_b;
    d      = s1_swap ? s1_dba : s1_dab;
    sh2    = d > 8'd27 ? 5'd27 : d[4:0];  // a shift of 27 or more leaves only sticky
    v2     = {lo[30:23] != 8'h00, lo[22:0], 3'b000};
    coarse = v2 >> {sh2[4:2], 2'b00};
    for (int i = 0; i < 27; i++) lost2[i] = v2[i] && 5'(i) < {sh2[4:2], 2'b00};
  end

  logic        s2_valid, s2_sign, s2_sub, s2_zsign, s2_isign, s2_sticky;
  logic [1:0]  s2_kind;
  logic [7:0]  s2_e;
  logic [23:0] s2_mhi;
  logic [26:0] s2_coarse;
  logic [1:0]  s2_fine;
  always_ff @(posedge clk) begin
    if (!rst_n) s2_valid <= 1'b0;
    else s2_valid <= s1_valid;
    s2_kind   <= s1_kind;
    s2_sign   <= s1_swap ? s1_sb : s1_sa;
    s2_sub    <= s1_sa ^ s1_sb;
    s2_zsign  <= s1_sa & s1_sb;  // sign of an exact zero sum under round to nearest
    s2_isign  <= s1_isign;
    s2_e      <= {hi[30:24], hi[23] | (hi[30:23] == 8'h00)};
    s2_mhi    <= {hi[30:23] != 8'h00, hi[22:0]};
    s2_coarse <= coarse;
    s2_sticky <= lost2 != 27'd0;
    s2_fine   <= sh2[1:0];
  end

  // ---- stage 3: the last 0..3 bits of the alignment; everything shifted out joins sticky in bit 0 ----
  logic [26:0] aligned;
  logic        lost3;
  always_comb begin
    aligned = s2_coarse >> s2_fine;
    lost3   = (s2_fine > 2'd0 && s2_coarse[0]) || (s2_fine > 2'd1 && s2_coarse[1]) || (s2_fine > 2'd2 && s2_coarse[2]);
  end

  logic        s3_valid, s3_sign, s3_sub, s3_zsign, s3_isign;
  logic [1:0]  s3_kind;
  logic [7:0]  s3_e;
  logic [26:0] s3_ma, s3_mb;
  always_ff @(posedge clk) begin
    if (!rst_n) s3_valid <= 1'b0;
    else s3_valid <= s2_valid;
    {s3_kind, s3_sign, s3_sub, s3_zsign, s3_isign, s3_e} <= {s2_kind, s2_sign, s2_sub, s2_zsign, s2_isign, s2_e};
    s3_ma <= {s2_mhi, 3'b000};
    s3_mb <= {aligned[26:1], aligned[0] | lost3 | s2_sticky};
  end

  // ---- stage 4: add or subtract (hi >= lo, so no negative result) ----
  logic        s4_valid, s4_sign, s4_zsign, s4_isign;
  logic [1:0]  s4_kind;
  logic [7:0]  s4_e;
  logic [27:0] s4_s;
  always_ff @(posedge clk) begin
    if (!rst_n) s4_valid <= 1'b0;
    else s4_valid <= s3_valid;
    {s4_kind, s4_sign, s4_zsign, s4_isign, s4_e} <= {s3_kind, s3_sign, s3_zsign, s3_isign, s3_e};
    s4_s <= s3_sub ? {1'b0, s3_ma} - {1'b0, s3_mb} : {1'b0, s3_ma} + {1'b0, s3_mb};
  end

  // ---- stage 5: leading zeros and the normalising shift ----
  logic [4:0] lz, sh5;
  always_comb begin
    lz  = lzc27(s4_s[26:0]);
    sh5 = (9'(lz) < 9'(s4_e) - 9'd1) ? lz : 5'(s4_e - 8'd1);  // never below exponent 1 (subnormal)
  end

  logic        s5_valid, s5_sign, s5_zsign, s5_isign;
  logic [1:0]  s5_kind;
  logic [7:0]  s5_e;
  logic [4:0]  s5_sh;
  logic [27:0] s5_s;
  always_ff @(posedge clk) begin
    if (!rst_n) s5_valid <= 1'b0;
    else s5_valid <= s4_valid;
    {s5_kind, s5_sign, s5_zsign, s5_isign, s5_e, s5_s} <= {s4_kind, s4_sign, s4_zsign, s4_isign, s4_e, s4_s};
    s5_sh <= sh5;
  end

  // ---- stage 6: normalise ----
  logic [26:0] n6;
  logic [8:0]  e6;
  always_comb begin
    if (s5_s[27]) begin  // carry out: one right shift, the lost bit joins sticky
      n6 = {s5_s[27:2], s5_s[1] | s5_s[0]};
      e6 = 9'(s5_e) + 9'd1;
    end else begin
      n6 = s5_s[26:0] << s5_sh;
      e6 = 9'(s5_e) - 9'(s5_sh);
    end
  end

  logic        s6_valid, s6_sign, s6_zsign, s6_isign, s6_zero;
  logic [1:0]  s6_kind;
  logic [8:0]  s6_e;  // 1..255; with s6_n[26] == 0 it means a subnormal (field 0)
  logic [26:0] s6_n;
  always_ff @(posedge clk) begin
    if (!rst_n) s6_valid <= 1'b0;
    else s6_valid <= s5_valid;
    {s6_kind, s6_sign, s6_zsign, s6_isign} <= {s5_kind, s5_sign, s5_zsign, s5_isign};
    s6_zero <= s5_s == 28'd0;
    s6_e    <= e6;
    s6_n    <= n6;
  end

  // ---- stage 7: round to nearest even, pack, overflow, flush ----
  logic        rnd;
  logic [32:0] packed_mag;  // (e - 1) << 23 + 24-bit significand: the hidden bit carries into the exponent
  logic [31:0] result;
  always_comb begin
    rnd        = s6_n[2] && (s6_n[3] || s6_n[1] || s6_n[0]);
    packed_mag = ({24'd0, s6_e - 9'd1} << 23) + {9'd0, s6_n[26:3]} + {32'd0, rnd};
    case (s6_kind)
      NAN:     result = QNAN;
      INF:     result = {s6_isign, 8'hff, 23'd0};
      default: begin
        if (s6_zero) result = {s6_zsign, 31'd0};
        else if (packed_mag >= 33'h0_7f80_0000) result = {s6_sign, 8'hff, 23'd0};
        else if (SUBNORMALS == 0 && packed_mag[30:23] == 8'd0) result = {s6_sign, 31'd0};
        else result = {s6_sign, packed_mag[30:0]};
      end
    endcase
  end

  always_ff @(posedge clk) begin
    if (!rst_n) out_valid <= 1'b0;
    else out_valid <= s6_valid;
    y <= result;
  end
endmodule
