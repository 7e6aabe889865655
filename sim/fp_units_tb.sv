// Self-checking Verilator testbench of rtl/fp32_mul.sv and rtl/fp32_add.sv, both
// subnormal modes side by side (4 units, one build). Python writes one vector file
// (+VEC=path, +N=count): per line a, b and the four expected results
// {a, b, mul_sub, add_sub, mul_ftz, add_ftz} as 48 hex digits (pycompress/hw/fpref.py).
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
    output logic [31:0] err_mul_sub, err_add_sub, err_mul_ftz, err_add_ftz,
    output logic [31:0] first_mul_sub, first_add_sub, first_mul_ftz, first_add_ftz,
    output logic [31:0] got_mul_sub, got_add_sub, got_mul_ftz, got_add_ftz
);
  logic [191:0] vec[MAX_N];
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
      a <= vec[idx][191:160];
      b <= vec[idx][159:128];
    end
  end

  // ---- the four units: 0 mul SUBNORMALS=1, 1 add SUBNORMALS=1, 2 mul FTZ, 3 add FTZ ----
  logic [3:0]  ov;
  logic [31:0] yy[4];
  fp32_mul #(.SUBNORMALS(1)) u_mul_sub (.clk, .rst_n, .in_valid, .a, .b, .out_valid(ov[0]), .y(yy[0]));
  fp32_add #(.SUBNORMALS(1)) u_add_sub (.clk, .rst_n, .in_valid, .a, .b, .out_valid(ov[1]), .y(yy[1]));
  fp32_mul #(.SUBNORMALS(0)) u_mul_ftz (.clk, .rst_n, .in_valid, .a, .b, .out_valid(ov[2]), .y(yy[2]));
  fp32_add #(.SUBNORMALS(0)) u_add_ftz (.clk, .rst_n, .in_valid, .a, .b, .out_valid(ov[3]), .y(yy[3]));

  // ---- checkers: results arrive in order, result k is compared with line k ----
  logic [31:0] k[4], err[4], first[4], got[4];
  for (genvar u = 0; u < 4; u++) begin : g_check
    always_ff @(posedge clk) begin
      if (!rst_n) begin
        k[u]     <= 32'd0;
        err[u]   <= 32'd0;
        first[u] <= 32'hffff_ffff;
        got[u]   <= 32'd0;
      end else if (ov[u]) begin
        k[u] <= k[u] + 32'd1;
        if (yy[u] != vec[k[u]][127-32*u-:32]) begin
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

  assign done = k[0] == 32'(n) && k[1] == 32'(n) && k[2] == 32'(n) && k[3] == 32'(n);
  assign {err_mul_sub, err_add_sub, err_mul_ftz, err_add_ftz} = {err[0], err[1], err[2], err[3]};
  assign {first_mul_sub, first_add_sub, first_mul_ftz, first_add_ftz} = {first[0], first[1], first[2], first[3]};
  assign {got_mul_sub, got_add_sub, got_mul_ftz, got_add_ftz} = {got[0], got[1], got[2], got[3]};
endmodule
