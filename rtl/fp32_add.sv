// IEEE-754 binary32 adder: round to nearest even, one sum per clock,
// LATENCY (4) rising edges from the edge that samples in_valid to out_valid.
// A valid pipeline without backpressure: the caller schedules around LATENCY
// (an accumulator bank of LATENCY entries hides it, see fp32_mac_bank.sv).
//
// SUBNORMALS=1: gradual underflow, bit-exact with numpy float32.
// SUBNORMALS=0: flush to zero as the Xilinx Floating-Point Operator does (PG109):
//   a subnormal operand is a zero of its own sign, a subnormal result (always exact
//   in an addition) leaves as a zero with the sum's sign.
// Exact zeros follow IEEE: x + (-x) = +0, (-0) + (-0) = -0.
// Every NaN result is the canonical quiet NaN 32'h7fc00000 (payloads are not
// propagated); pycompress/hw/fpref.py models exactly this.
//
// Stages: 1 classify, order by magnitude, align the smaller significand (guard,
// round, sticky bits); 2 add or subtract; 3 leading-zero count and normalise
// (pinned at exponent 1 for subnormal sums); 4 round, pack, overflow, flush.
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
  localparam int LATENCY = 4;  // documentation and fpref.py; the stages below are the latency
  /* verilator lint_on UNUSEDPARAM */
  localparam logic [31:0] QNAN = 32'h7fc0_0000;
  localparam logic [1:0] FINITE = 2'd0, INF = 2'd2, NAN = 2'd3;

  function automatic logic [4:0] lzc27(input logic [26:0] x);
    lzc27 = 5'd27;
    for (int i = 0; i < 27; i++) if (x[i]) lzc27 = 5'(26 - i);
  endfunction

  // ---- stage 1: classify, larger magnitude first, align the smaller ----
  logic        a_sub, b_sub, a_zero, b_zero, a_inf, b_inf, a_nan, b_nan, swap;
  logic [30:0] a_mag, b_mag;
  logic [31:0] hi;  // the larger magnitude, with its sign
  logic [30:0] lo;  // the smaller magnitude
  logic [7:0]  e_hi, e_lo, d;
  logic [23:0] m_hi, m_lo;
  logic [53:0] aligned;
  logic [1:0]  kind0;
  always_comb begin
    a_sub   = a[30:23] == 8'h00;
    b_sub   = b[30:23] == 8'h00;
    a_zero  = a_sub && (SUBNORMALS == 0 || a[22:0] == 23'd0);
    b_zero  = b_sub && (SUBNORMALS == 0 || b[22:0] == 23'd0);
    a_inf   = a[30:23] == 8'hff && a[22:0] == 23'd0;
    b_inf   = b[30:23] == 8'hff && b[22:0] == 23'd0;
    a_nan   = a[30:23] == 8'hff && a[22:0] != 23'd0;
    b_nan   = b[30:23] == 8'hff && b[22:0] != 23'd0;
    a_mag   = a_zero ? 31'd0 : a[30:0];  // a flushed operand must not win the ordering
    b_mag   = b_zero ? 31'd0 : b[30:0];
    swap    = b_mag > a_mag;
    hi      = swap ? {b[31], b_mag} : {a[31], a_mag};
    lo      = swap ? a_mag : b_mag;
    e_hi    = hi[30:23] == 8'h00 ? 8'd1 : hi[30:23];  // subnormal: effective exponent 1
    e_lo    = lo[30:23] == 8'h00 ? 8'd1 : lo[30:23];
    m_hi    = {hi[30:23] != 8'h00, hi[22:0]};
    m_lo    = {lo[30:23] != 8'h00, lo[22:0]};
    d       = e_hi - e_lo;
    // 27 bits: significand, guard, round, sticky; a shift of 27 or more leaves only sticky
    aligned = {m_lo, 3'b000, 27'd0} >> (d > 8'd27 ? 5'd27 : d[4:0]);
    if (a_nan || b_nan || (a_inf && b_inf && a[31] != b[31])) kind0 = NAN;
    else if (a_inf || b_inf) kind0 = INF;
    else kind0 = FINITE;
  end

  logic        s1_valid, s1_sign, s1_sub, s1_zsign, s1_isign;
  logic [1:0]  s1_kind;
  logic [7:0]  s1_e;
  logic [26:0] s1_ma, s1_mb;

  always_ff @(posedge clk) begin
    if (!rst_n) s1_valid <= 1'b0;
    else s1_valid <= in_valid;
    s1_kind  <= kind0;
    s1_sign  <= hi[31];
    s1_sub   <= a[31] ^ b[31];
    s1_zsign <= a[31] & b[31];         // sign of an exact zero sum under round to nearest
    s1_isign <= a_inf ? a[31] : b[31];  // sign of an infinite result
    s1_e     <= e_hi;
    s1_ma    <= {m_hi, 3'b000};
    s1_mb    <= {aligned[53:28], aligned[27] | (aligned[26:0] != 27'd0)};
  end

  // ---- stage 2: add or subtract (hi >= lo, so no negative result) ----
  logic       s2_valid, s2_sign, s2_zsign, s2_isign;
  logic [1:0] s2_kind;
  logic [7:0] s2_e;
  logic [27:0] s2_s;

  always_ff @(posedge clk) begin
    if (!rst_n) s2_valid <= 1'b0;
    else s2_valid <= s1_valid;
    s2_kind  <= s1_kind;
    s2_sign  <= s1_sign;
    s2_zsign <= s1_zsign;
    s2_isign <= s1_isign;
    s2_e     <= s1_e;
    s2_s     <= s1_sub ? {1'b0, s1_ma} - {1'b0, s1_mb} : {1'b0, s1_ma} + {1'b0, s1_mb};
  end

  // ---- stage 3: normalise ----
  logic [4:0]  lz, sh;
  logic [26:0] n3;
  logic [8:0]  e3;
  always_comb begin
    lz = lzc27(s2_s[26:0]);
    sh = (9'(lz) < 9'(s2_e) - 9'd1) ? lz : 5'(s2_e - 8'd1);  // never below exponent 1 (subnormal)
    if (s2_s[27]) begin  // carry out: one right shift, the lost bit joins sticky
      n3 = {s2_s[27:2], s2_s[1] | s2_s[0]};
      e3 = 9'(s2_e) + 9'd1;
    end else begin
      n3 = s2_s[26:0] << sh;
      e3 = 9'(s2_e) - 9'(sh);
    end
  end

  logic        s3_valid, s3_sign, s3_zsign, s3_isign, s3_zero;
  logic [1:0]  s3_kind;
  logic [8:0]  s3_e;  // 1..255; with s3_n[26] == 0 it means a subnormal (field 0)
  logic [26:0] s3_n;

  always_ff @(posedge clk) begin
    if (!rst_n) s3_valid <= 1'b0;
    else s3_valid <= s2_valid;
    s3_kind  <= s2_kind;
    s3_sign  <= s2_sign;
    s3_zsign <= s2_zsign;
    s3_isign <= s2_isign;
    s3_zero  <= s2_s == 28'd0;
    s3_e     <= e3;
    s3_n     <= n3;
  end

  // ---- stage 4: round to nearest even, pack, overflow, flush ----
  logic        rnd;
  logic [32:0] packed_mag;  // (e - 1) << 23 + 24-bit significand: the hidden bit carries into the exponent
  logic [31:0] result;
  always_comb begin
    rnd        = s3_n[2] && (s3_n[3] || s3_n[1] || s3_n[0]);
    packed_mag = ({24'd0, s3_e - 9'd1} << 23) + {9'd0, s3_n[26:3]} + {32'd0, rnd};
    case (s3_kind)
      NAN:     result = QNAN;
      INF:     result = {s3_isign, 8'hff, 23'd0};
      default: begin
        if (s3_zero) result = {s3_zsign, 31'd0};
        else if (packed_mag >= 33'h0_7f80_0000) result = {s3_sign, 8'hff, 23'd0};
        else if (SUBNORMALS == 0 && packed_mag[30:23] == 8'd0) result = {s3_sign, 31'd0};
        else result = {s3_sign, packed_mag[30:0]};
      end
    endcase
  end

  always_ff @(posedge clk) begin
    if (!rst_n) out_valid <= 1'b0;
    else out_valid <= s3_valid;
    y <= result;
  end
endmodule
