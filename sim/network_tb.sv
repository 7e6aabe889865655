// Self-checking-free driver of a generated network engine (pycompress_engine, written by
// `pycompress rtl`): streams N images from a $readmemh file into s_axis with LFSR valid gaps
// and stalls, takes the outputs from m_axis under LFSR backpressure and stalls, and writes
// them with $writememh when the last one is in, so no Python runs per cycle (the harness
// compares the files with the numpy reference). Per image it records the cycle of the first
// input word and of the last output word, and every stage's latched busy / compute counters.
// +RESET_IMG/+RESET_WORD: after that many words of that image, the engine is held in reset
// for 3 clocks mid-image; feeding restarts at the first image whose outputs are not all in
// (its partial outputs are dropped), so the run then checks correct results after a reset.
// Plusargs: +IN +N +OUT +TIMES +STAGES (files), +VALID/+READY (duty in 1/256), +STALL (1/4096 a clock).
module network_tb #(
    parameter int N_IN = 784,
    parameter int N_OUT = 10,
    parameter int NS = 7,
    parameter int MAX_IMAGES = 128,
    parameter int SUBNORMALS = 1  // the engine's float units: 1 IEEE gradual underflow, 0 flush to zero
) (
    input  logic        clk,
    input  logic        rst_n,
    output logic        done,
    output logic [31:0] images_out,
    output logic [31:0] cycles,
    output logic [31:0] resets
);
  logic [31:0] img_mem[MAX_IMAGES * N_IN];
  logic [31:0] out_mem[MAX_IMAGES * N_OUT];
  logic [63:0] time_mem[MAX_IMAGES];
  logic [NS*64-1:0] stage_mem[MAX_IMAGES];
  string in_path, out_path, times_path, stages_path;
  int n, valid_duty, ready_duty, stall_rate, reset_img, reset_word;

  initial begin
    if (!$value$plusargs("N=%d", n)) $fatal(1, "network_tb: +N=<images> missing");
    if (n < 1 || n > MAX_IMAGES) $fatal(1, "network_tb: +N=%0d outside 1..%0d", n, MAX_IMAGES);
    if (!$value$plusargs("IN=%s", in_path)) $fatal(1, "network_tb: +IN=<file> missing");
    if (!$value$plusargs("OUT=%s", out_path)) $fatal(1, "network_tb: +OUT=<file> missing");
    if (!$value$plusargs("TIMES=%s", times_path)) $fatal(1, "network_tb: +TIMES=<file> missing");
    if (!$value$plusargs("STAGES=%s", stages_path)) $fatal(1, "network_tb: +STAGES=<file> missing");
    if (!$value$plusargs("VALID=%d", valid_duty)) valid_duty = 256;
    if (!$value$plusargs("READY=%d", ready_duty)) ready_duty = 256;
    if (!$value$plusargs("STALL=%d", stall_rate)) stall_rate = 0;
    if (!$value$plusargs("RESET_IMG=%d", reset_img)) reset_img = -1;
    if (!$value$plusargs("RESET_WORD=%d", reset_word)) reset_word = 0;
    $readmemh(in_path, img_mem, 0, n * N_IN - 1);
  end

  // ---- LFSRs: valid / ready duty and 1..20-clock stalls on each port ----
  logic [31:0] lv, lr;
  logic [4:0]  sv, sr;
  logic        v_on, r_on;
  assign v_on = sv == 0 && int'({24'd0, lv[7:0]}) < valid_duty && !(int'({20'd0, lv[19:8]}) < stall_rate);
  assign r_on = sr == 0 && int'({24'd0, lr[7:0]}) < ready_duty && !(int'({20'd0, lr[19:8]}) < stall_rate);

  // ---- engine, with the mid-image reset ----
  logic        e_rst_n, s_valid, s_ready, m_valid, m_ready, m_last;
  logic [31:0] s_data, m_data;
  logic [NS*32-1:0] stage_cycles, compute_cycles;
  logic [1:0]  hold;
  pycompress_engine #(.SUBNORMALS(SUBNORMALS)) u_dut (
      .clk(clk), .rst_n(e_rst_n), .s_axis_tvalid(s_valid), .s_axis_tready(s_ready), .s_axis_tdata(s_data),
      .m_axis_tvalid(m_valid), .m_axis_tready(m_ready), .m_axis_tdata(m_data), .m_axis_tlast(m_last),
      .stage_cycles(stage_cycles), .compute_cycles(compute_cycles)
  );
  assign e_rst_n = rst_n && hold == 0;

  logic [31:0] in_img, in_word, out_img, out_word;
  logic        fired_reset, in_all, reset_now;
  assign in_all = in_img == 32'(n);
  assign s_valid = !in_all && v_on && hold == 0;
  assign s_data = img_mem[in_img * N_IN + in_word];
  assign m_ready = r_on && hold == 0;
  assign done = out_img == 32'(n);
  assign images_out = out_img;
  assign reset_now = s_valid && s_ready && !fired_reset && int'(in_img) == reset_img && int'(in_word) + 1 == reset_word;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {in_img, in_word, out_img, out_word, cycles, resets} <= '0;
      lv <= 32'h1234_5679;
      lr <= 32'h8765_4321;
      {sv, sr, hold} <= '0;
      fired_reset <= 1'b0;
    end else begin
      cycles <= cycles + 1'b1;
      lv <= {lv[30:0], lv[31] ^ lv[21] ^ lv[1] ^ lv[0]};
      lr <= {lr[30:0], lr[31] ^ lr[21] ^ lr[1] ^ lr[0]};
      if (sv != 0) sv <= sv - 1'b1;
      else if (int'({20'd0, lv[19:8]}) < stall_rate) sv <= 5'd1 + 5'(lv[27:20] % 20);
      if (sr != 0) sr <= sr - 1'b1;
      else if (int'({20'd0, lr[19:8]}) < stall_rate) sr <= 5'd1 + 5'(lr[27:20] % 20);
      if (hold != 0) hold <= hold - 1'b1;
      if (s_valid && s_ready) begin
        if (in_word == 0) time_mem[in_img][63:32] <= cycles;
        if (in_word == 32'(N_IN - 1)) begin
          in_word <= '0;
          in_img <= in_img + 1'b1;
        end else in_word <= in_word + 1'b1;
        if (reset_now) begin
          fired_reset <= 1'b1;
          hold <= 2'd3;
          resets <= resets + 1'b1;
          in_img <= out_img;  // refeed every image not yet complete
          in_word <= '0;
          out_word <= '0;
        end
      end
      if (m_valid && m_ready && !reset_now) begin
        out_mem[out_img * N_OUT + out_word] <= m_data;
        if (m_last) begin
          time_mem[out_img][31:0] <= cycles;
          out_img <= out_img + 1'b1;
          out_word <= '0;
        end else out_word <= out_word + 1'b1;
      end
    end
  end

  // the engine latches its stage counters on the last output's clock: read them one clock later
  logic        cap, done_q, written;
  logic [31:0] cap_img;
  always_ff @(posedge clk) begin
    cap <= rst_n && m_valid && m_ready && m_last && !reset_now;
    cap_img <= out_img;
    if (cap) for (int s = 0; s < NS; s++) stage_mem[cap_img][s*64+:64] <= {stage_cycles[s*32+:32], compute_cycles[s*32+:32]};
  end
  always_ff @(posedge clk) begin
    done_q <= rst_n && done;
    if (!rst_n) written <= 1'b0;
    else if (done_q && !cap && !written) begin
      written <= 1'b1;
      $writememh(out_path, out_mem, 0, n * N_OUT - 1);
      $writememh(times_path, time_mem, 0, n - 1);
      $writememh(stages_path, stage_mem, 0, n - 1);
    end
  end
endmodule
