// Entropy-coded codebook-index decoder (scheme "cluster_huffman", issue 25): one weight per clock from a
// lane's code stream. The stream arrives as 16-bit words, MSB first, on a valid/ready/last input; a bit
// buffer holds the unread bits and the next L of them address the 2^L-entry decode table (symbol,
// code length), a synchronous ROM whose registered output is the only state in the decode loop
// (code_window.sv, shared with huffman_decoder.sv). A symbol below K is a codebook index; a symbol
// s >= K is a run of s - K + 1 copies of entry RUN_INDEX: the decoder gives one copy per clock and
// holds the table output (the next symbol, already looked up) until the run is out, so runs cost no
// bubble. The index reads the
// codebook ROM (registered, LUTs), whose value is the weight, widened to FP32 beside it.
//
// Command: `start` (in IDLE) decodes `n_weights` weights; the producer sends the lane's words and
// marks the final one with s_last; words read ahead past it count as zero, words left are dropped.
// With the input never empty and m_ready high, N weights take N + 5 cycles, no bubbles.
// Timing: the loop path is table ROM output -> 6-bit subtract -> 32-bit shifter -> table ROM address;
// the run counter and the index mux sit beside it, between registers.
module coded_decoder #(
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 7,
    parameter int K = 16,                 // codebook entries
    parameter int RUN_INDEX = 0,          // the entry runs repeat
    parameter int SYM_BITS = 5,           // decode-table symbol width: K + run symbols <= 2^SYM_BITS
    parameter int L = 12,                 // decode window: the longest code, <= 15
    parameter int COUNT_BITS = 16,        // n_weights < 2^COUNT_BITS
    parameter LUT_FILE = "",
    parameter BOOK_FILE = "",
    parameter int LUT_BLOCK = 1,          // 1: the table asks for block RAM; 0: LUTs
    localparam int W = 1 + EXP_BITS + MAN_BITS,
    localparam int IDX_BITS = (K > 1) ? $clog2(K) : 1
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic                  start,
    input  logic [COUNT_BITS-1:0] n_weights,  // weights to decode (0: start is ignored)
    output logic                  busy,
    input  logic                  s_valid,
    output logic                  s_ready,
    input  logic [15:0]           s_word,
    input  logic                  s_last,
    output logic                  m_valid,
    input  logic                  m_ready,
    output logic [W-1:0]          m_weight,
    output logic [31:0]           m_fp32,
    output logic                  m_last
);
  localparam logic [SYM_BITS-1:0] KS = SYM_BITS'(K);
  localparam logic [IDX_BITS-1:0] RUN_IDX = IDX_BITS'(RUN_INDEX);

  logic [COUNT_BITS-1:0] left;      // weights still to give
  logic [SYM_BITS-1:0]   run_left;  // copies of the run entry still to give after this one

  logic                vb, last_b, adv_b, out_ready, give, fire, is_run;
  logic [IDX_BITS-1:0] idx;

  // the code window (input words, bit buffer, decode table): {symbol, code length} of the head code
  logic [SYM_BITS-1:0] sym_q;
  logic                begin_cmd, running, in_run, can_take;
  assign begin_cmd = start && n_weights != '0 && !running;
  code_window #(.L(L), .SYM_BITS(SYM_BITS), .LUT_FILE(LUT_FILE), .LUT_BLOCK(LUT_BLOCK)) u_window (
      .clk(clk), .rst_n(rst_n), .start(begin_cmd), .skip(4'd0), .running(running), .in_run(in_run),
      .can_take(can_take), .take(fire), .finish(give && left == 1),
      .s_valid(s_valid), .s_ready(s_ready), .s_word(s_word), .s_last(s_last), .symbol(sym_q)
  );

  assign adv_b  = !vb || out_ready;
  // a new symbol is taken only when the last run is out
  assign fire   = can_take && adv_b && (run_left == '0);
  assign give   = fire || (in_run && adv_b && (run_left != '0));
  assign is_run = sym_q >= KS;
  assign idx    = (fire && !is_run) ? IDX_BITS'(sym_q) : RUN_IDX;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      left     <= '0;
      run_left <= '0;
    end else if (begin_cmd) begin
      left     <= n_weights;
      run_left <= '0;
    end else begin
      if (fire) run_left <= is_run ? sym_q - KS : '0;
      else if (give) run_left <= run_left - 1'b1;
      if (give) left <= left - 1'b1;
    end
  end

  // the weight: the codebook entry of the index given this clock, read into the ROM's output register
  logic [W-1:0] weight;
  table_rom #(.WIDTH(W), .DEPTH(K), .ADDR_BITS(IDX_BITS), .INIT_FILE(BOOK_FILE), .PLUSARG("BOOK_MEM"), .BLOCK(0))
      u_book (.clk(clk), .en(adv_b), .addr(idx), .data(weight));

  always_ff @(posedge clk) begin
    if (!rst_n) vb <= 1'b0;
    else if (adv_b) vb <= give;
    if (adv_b) last_b <= give && (left == 1);
  end

  logic [31:0] fp32;
  fp32_widen #(.EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS)) u_widen (.x(weight), .y(fp32));

  skid_buffer #(.WIDTH(W + 33)) u_out (
      .clk(clk), .rst_n(rst_n),
      .s_valid(vb), .s_ready(out_ready), .s_data({last_b, fp32, weight}),
      .m_valid(m_valid), .m_ready(m_ready), .m_data({m_last, m_fp32, m_weight})
  );

  assign busy = running || vb || m_valid;
endmodule
