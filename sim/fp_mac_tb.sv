// Self-checking Verilator testbench of rtl/mac_lane.sv with its control rtl/mac_ctl.sv (one control for both
// lanes, as in an engine), in both SUBNORMALS modes; operands unpacked by rtl/fp32_unpack.sv as the engine does.
// +SCHED=file (+N lines): one schedule slot a clock, {flags, slot, w, x} as 20 hex digits,
// flags bit 0 valid, bit 1 first, bit 2 last (bubbles are lines with valid 0).
// +EXPECT=file (+M lines): the results in leaving order, {slot, sum_sub, sum_ftz} as 18 hex
// digits (pycompress.hw.fpref sequential dot products). Mismatches are counted in hardware.
module fp_mac_tb #(
    parameter int MAX_N = 1 << 18,
    parameter int MAX_M = 1 << 14,
    parameter int BANK = 10  // slots interleaved round robin: mac_lane's SPACING
) (
    input  logic        clk,
    input  logic        rst_n,
    output logic        done,
    output logic [31:0] n_vec,
    output logic [31:0] cycles,
    output logic [31:0] err_sub, err_ftz, first_sub, first_ftz, got_sub, got_ftz
);
  localparam int SW = BANK > 1 ? $clog2(BANK) : 1;
  logic [79:0] sched[MAX_N];
  logic [71:0] expect_mem[MAX_M];
  string       sched_path, expect_path;
  int          n, m;

  initial begin
    n = 0;
    m = 0;
    if (!$value$plusargs("N=%d", n) || !$value$plusargs("M=%d", m)) $fatal(1, "fp_mac_tb: +N= and +M= needed");
    if (n < 1 || n > MAX_N || m < 1 || m > MAX_M) $fatal(1, "fp_mac_tb: +N=%0d or +M=%0d out of range", n, m);
    if (!$value$plusargs("SCHED=%s", sched_path) || !$value$plusargs("EXPECT=%s", expect_path))
      $fatal(1, "fp_mac_tb: +SCHED= and +EXPECT= needed");
    $readmemh(sched_path, sched, 0, n - 1);
    $readmemh(expect_path, expect_mem, 0, m - 1);
  end
  assign n_vec = 32'(m);

  logic [31:0]   idx, w, x;
  logic          in_valid, in_first, in_last;
  logic [SW-1:0] in_slot;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      idx      <= 32'd0;
      in_valid <= 1'b0;
    end else begin
      in_valid <= idx < 32'(n) && sched[idx][72];
      if (idx < 32'(n)) idx <= idx + 32'd1;
    end
    {in_last, in_first} <= sched[idx][74:73];  // flags bits 2, 1
    in_slot <= SW'(sched[idx][71:64]);
    w       <= sched[idx][63:32];
    x       <= sched[idx][31:0];
  end

  logic          c_rd_en, c_p_first, c_wr_en, c_wr_last, c_wr_par;
  logic [SW-1:0] c_rd_slot, c_wr_slot;
  logic [31:0]   c_p_init;
  mac_ctl #(.SA(SW)) u_ctl (
      .clk, .rst_n, .in_valid, .in_slot, .in_first, .in_last, .in_par(1'b0), .in_init(32'd0),
      .rd_en(c_rd_en), .rd_slot(c_rd_slot), .p_first(c_p_first), .p_init(c_p_init),
      .wr_en(c_wr_en), .wr_slot(c_wr_slot), .wr_last(c_wr_last), .wr_par(c_wr_par));
  logic [1:0]    ov;
  logic [SW-1:0] os[2];
  logic [31:0]   sum[2], unused_rd[2];
  for (genvar u = 0; u < 2; u++) begin : g_lane
    logic [35:0] uw, ux;
    fp32_unpack #(.SUBNORMALS(1 - u)) u_uw (.x(w), .u(uw));
    fp32_unpack #(.SUBNORMALS(1 - u)) u_ux (.x(x), .u(ux));
    mac_lane #(.SUBNORMALS(1 - u), .SLOTS(BANK)) u_lane (
        .clk, .rst_n, .in_valid, .in_w(uw), .in_x(ux), .rd_en(c_rd_en), .rd_slot(c_rd_slot), .p_first(c_p_first),
        .p_init(c_p_init), .wr_en(c_wr_en), .wr_slot(c_wr_slot), .wr_last(c_wr_last), .wr_par(c_wr_par),
        .out_sum(sum[u]), .ob_rd_en(1'b0), .ob_rd_par(1'b0), .ob_rd_addr('0), .rd_data(unused_rd[u]));
    assign ov[u] = c_wr_en && c_wr_last;
    assign os[u] = c_wr_slot;
  end

  logic [31:0] k[2], err[2], first[2], got[2];
  for (genvar u = 0; u < 2; u++) begin : g_check
    always_ff @(posedge clk) begin
      if (!rst_n) begin
        k[u]     <= 32'd0;
        err[u]   <= 32'd0;
        first[u] <= 32'hffff_ffff;
        got[u]   <= 32'd0;
      end else if (ov[u]) begin
        k[u] <= k[u] + 32'd1;
        if (sum[u] != expect_mem[k[u]][63-32*u-:32] || 8'(os[u]) != expect_mem[k[u]][71:64]) begin
          err[u] <= err[u] + 32'd1;
          if (err[u] == 32'd0) begin
            first[u] <= k[u];
            got[u]   <= sum[u];
          end
        end
      end
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) cycles <= 32'd0;
    else cycles <= cycles + 32'd1;
  end
  assign done = k[0] == 32'(m) && k[1] == 32'(m);
  assign {err_sub, err_ftz} = {err[0], err[1]};
  assign {first_sub, first_ftz} = {first[0], first[1]};
  assign {got_sub, got_ftz} = {got[0], got[1]};
endmodule
