// Self-checking Verilator testbench of rtl/fp32_mul.sv and rtl/fp32_add.sv, both
// subnormal modes side by side, plus the narrow multipliers (WB = 8: a BF16 weight;
// WB = 4: a weight with a 3-bit mantissa), 8 units, one build. Python writes one vector
// file (+VEC=path, +N=count): per line a, b and the eight expected results
// {a, b, mul_sub, add_sub, mul_ftz, add_ftz, mul8_sub, mul8_ftz, mul4_sub, mul4_ftz} as
// 80 hex digits (pycompress/hw/fpref.py); a narrow unit gets `a` with the significand bits
// beyond its WB cleared (as a widened narrow weight has them), the expectation likewise.
// The testbench feeds one pair per clock (or with LFSR bubbles when `gaps` is high),
// checks every result in hardware and counts mismatches, so cocotb only starts the
// clock and reads the counters: no Python per cycle.
module fp_units_tb #(
    parameter int MAX_N = 1 << 21
) (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        gaps,
    output logic        done,
    output logic [31:0] n_vec,
    output logic [31:0] cycles,
    output logic [31:0] lat_mul,
    output logic [31:0] lat_add,
    output logic [8*32-1:0] err_all,  // unit u at [u*32 +: 32]
    output logic [8*32-1:0] first_all,
    output logic [8*32-1:0] got_all
);
  logic [319:0] vec[MAX_N];
  string        path;
  int           n;

  initial begin
    n = 0;
    if (!$value$plusargs("N=%d", n)) $fatal(1, "fp_units_tb: +N=<pairs> missing");
    if (n < 1 || n > MAX_N) $fatal(1, "fp_units_tb: +N=%0d outside 1..%0d", n, MAX_N);
    if (!$value$plusargs("VEC=%s", path)) $fatal(1, "fp_units_tb: +VEC=<file> missing");
    $readmemh(path, vec, 0, n - 1);
  end
  assign n_vec = 32'(n);

  // ---- stimulus ----
  logic [31:0] idx, a, b, lfsr;
  logic        in_valid, fire;
  assign fire = idx < 32'(n) && (!gaps || lfsr[0] || lfsr[1]);  // ~75% duty with gaps
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      idx      <= 32'd0;
      in_valid <= 1'b0;
      lfsr     <= 32'hace1_2468;
    end else begin
      lfsr     <= {lfsr[30:0], lfsr[31] ^ lfsr[21] ^ lfsr[1] ^ lfsr[0]};
      in_valid <= fire;
      if (fire) idx <= idx + 32'd1;
    end
    if (fire) begin
      a <= vec[idx][319:288];
      b <= vec[idx][287:256];
    end
  end

  // ---- the units: 0 mul SUBNORMALS=1, 1 add SUBNORMALS=1, 2 mul FTZ, 3 add FTZ, 4/5 mul WB=8 (sub, FTZ),
  // 6/7 mul WB=4 (sub, FTZ) ----
  localparam logic [31:0] MASK8 = 32'hffff_0000, MASK4 = 32'hfff0_0000;
  logic [7:0]  ov;
  logic [31:0] yy[8];
  fp32_mul #(.SUBNORMALS(1)) u_mul_sub (.clk, .rst_n, .in_valid, .a, .b, .out_valid(ov[0]), .y(yy[0]));
  fp32_add #(.SUBNORMALS(1)) u_add_sub (.clk, .rst_n, .in_valid, .a, .b, .out_valid(ov[1]), .y(yy[1]));
  fp32_mul #(.SUBNORMALS(0)) u_mul_ftz (.clk, .rst_n, .in_valid, .a, .b, .out_valid(ov[2]), .y(yy[2]));
  fp32_add #(.SUBNORMALS(0)) u_add_ftz (.clk, .rst_n, .in_valid, .a, .b, .out_valid(ov[3]), .y(yy[3]));
  fp32_mul #(.SUBNORMALS(1), .WB(8)) u_mul8_sub (.clk, .rst_n, .in_valid, .a(a & MASK8), .b, .out_valid(ov[4]), .y(yy[4]));
  fp32_mul #(.SUBNORMALS(0), .WB(8)) u_mul8_ftz (.clk, .rst_n, .in_valid, .a(a & MASK8), .b, .out_valid(ov[5]), .y(yy[5]));
  fp32_mul #(.SUBNORMALS(1), .WB(4)) u_mul4_sub (.clk, .rst_n, .in_valid, .a(a & MASK4), .b, .out_valid(ov[6]), .y(yy[6]));
  fp32_mul #(.SUBNORMALS(0), .WB(4)) u_mul4_ftz (.clk, .rst_n, .in_valid, .a(a & MASK4), .b, .out_valid(ov[7]), .y(yy[7]));

  // ---- checkers: results arrive in order, result k is compared with line k ----
  logic [31:0] k[8], err[8], first[8], got[8];
  for (genvar u = 0; u < 8; u++) begin : g_check
    assign err_all[u*32+:32] = err[u];
    assign first_all[u*32+:32] = first[u];
    assign got_all[u*32+:32] = got[u];
    always_ff @(posedge clk) begin
      if (!rst_n) begin
        k[u]     <= 32'd0;
        err[u]   <= 32'd0;
        first[u] <= 32'hffff_ffff;
        got[u]   <= 32'd0;
      end else if (ov[u]) begin
        k[u] <= k[u] + 32'd1;
        if (yy[u] != vec[k[u]][255-32*u-:32]) begin
          err[u] <= err[u] + 32'd1;
          if (err[u] == 32'd0) begin
            first[u] <= k[u];
            got[u]   <= yy[u];
          end
        end
      end
    end
  end

  // ---- latency (edges from sampling the first input to seeing the first result) and cycle count ----
  logic [31:0] t_in;
  logic        seen_in, seen_mul, seen_add;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      cycles   <= 32'd0;
      seen_in  <= 1'b0;
      seen_mul <= 1'b0;
      seen_add <= 1'b0;
      t_in     <= 32'd0;
      lat_mul  <= 32'd0;
      lat_add  <= 32'd0;
    end else begin
      cycles <= cycles + 32'd1;
      if (in_valid && !seen_in) begin
        seen_in <= 1'b1;
        t_in    <= cycles;
      end
      if (ov[0] && !seen_mul) begin
        seen_mul <= 1'b1;
        lat_mul  <= cycles - t_in;
      end
      if (ov[1] && !seen_add) begin
        seen_add <= 1'b1;
        lat_add  <= cycles - t_in;
      end
    end
  end

  logic all_done;
  always_comb begin
    all_done = 1'b1;
    for (int u = 0; u < 8; u++) all_done = all_done && k[u] == 32'(n);
  end
  assign done = all_done;
endmodule
