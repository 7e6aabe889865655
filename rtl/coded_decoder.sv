// Entropy-coded codebook-index decoder (scheme "cluster_huffman", issue 25): one weight per clock from a
// lane's code stream. The stream arrives as 16-bit words, MSB first, on a valid/ready/last input; a bit
// buffer holds the unread bits and the next L of them address the 2^L-entry decode table (symbol,
// code length), a synchronous ROM whose registered output is the only state in the decode loop, as in
// huffman_decoder.sv. A symbol below K is a codebook index; a symbol s >= K is a run of s - K + 1
// copies of entry RUN_INDEX: the decoder gives one copy per clock and holds the table output (the
// next symbol, already looked up) until the run is out, so runs cost no bubble. The index reads the
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
    localparam int LUT_W = SYM_BITS + 4,
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
  localparam logic [2:0] IDLE = 3'd0, LOAD = 3'd1, LOOKUP = 3'd2, RUN = 3'd3, DRAIN = 3'd4;
  localparam logic [5:0] LW = 6'(L);
  localparam logic [5:0] LW2 = 6'(2 * L);
  localparam logic [SYM_BITS-1:0] KS = SYM_BITS'(K);
  localparam logic [IDX_BITS-1:0] RUN_IDX = IDX_BITS'(RUN_INDEX);

  logic        w_valid, w_last, w_take;
  logic [15:0] w_data;
  skid_buffer #(.WIDTH(17)) u_in (
      .clk(clk), .rst_n(rst_n),
      .s_valid(s_valid), .s_ready(s_ready), .s_data({s_last, s_word}),
      .m_valid(w_valid), .m_ready(w_take), .m_data({w_last, w_data})
  );

  logic [2:0]            state;
  logic [31:0]           cbuf;      // the cn lowest bits are unread, next bit at cn - 1
  logic [5:0]            cn;
  logic                  in_done;   // the word with s_last was taken: later words read as zero
  logic [COUNT_BITS-1:0] left;      // weights still to give
  logic [SYM_BITS-1:0]   run_left;  // copies of the run entry still to give after this one

  logic [LUT_W-1:0]    lut_q;
  logic [SYM_BITS-1:0] sym_q;
  logic [3:0]          len_q, len;
  logic [L-1:0]        window;
  logic                lut_en;
  assign sym_q = lut_q[LUT_W-1:4];
  assign len_q = lut_q[3:0];

  logic        vb, last_b, adv_b, out_ready, give, fire, refill, load, load_done, wok, is_run;
  logic [15:0] wdata;
  logic [5:0]  rem, cn_run, cn_load, shift;
  logic [31:0] cbuf_run, cbuf_load;
  logic [IDX_BITS-1:0] idx;

  assign wok    = in_done || w_valid;
  assign wdata  = in_done ? 16'h0 : w_data;
  assign adv_b  = !vb || out_ready;
  // a new symbol is taken only when the last run is out, and a refill word is there in case the code needs one
  assign fire   = (state == RUN) && adv_b && (run_left == '0) && (wok || cn >= LW2);
  assign give   = fire || ((state == RUN) && adv_b && (run_left != '0));
  assign is_run = sym_q >= KS;
  assign idx    = (fire && !is_run) ? IDX_BITS'(sym_q) : RUN_IDX;
  assign len    = (state == RUN) ? len_q : 4'd0;
  assign rem    = cn - {2'b0, len};
  assign refill = fire && (rem < LW);
  assign cbuf_run = refill ? {cbuf[15:0], wdata} : cbuf;
  assign cn_run   = refill ? rem + 6'd16 : rem;
  assign shift    = cn_run - LW;
  assign window   = L'(cbuf_run >> shift);
  assign lut_en   = fire || state == LOOKUP;

  assign load      = (state == LOAD) && wok;
  assign cbuf_load = {cbuf[15:0], wdata};
  assign cn_load   = cn + 6'd16;
  assign load_done = cn_load >= LW;
  assign w_take    = !in_done && w_valid && (refill || load || state == DRAIN);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state    <= IDLE;
      in_done  <= 1'b0;
      cn       <= '0;
      left     <= '0;
      run_left <= '0;
    end else begin
      if (w_take && w_last) in_done <= 1'b1;
      case (state)
        IDLE:
          if (start && n_weights != '0) begin
            state    <= LOAD;
            in_done  <= 1'b0;
            cn       <= '0;
            cbuf     <= '0;
            left     <= n_weights;
            run_left <= '0;
          end
        LOAD:
          if (load) begin
            cbuf <= cbuf_load;
            cn   <= cn_load;
            if (load_done) state <= LOOKUP;
          end
        LOOKUP: state <= RUN;
        RUN: begin
          if (fire) begin
            cbuf     <= cbuf_run;
            cn       <= cn_run;
            run_left <= is_run ? sym_q - KS : '0;
          end else if (give) begin
            run_left <= run_left - 1'b1;
          end
          if (give) begin
            left <= left - 1'b1;
            if (left == 1) state <= DRAIN;
          end
        end
        DRAIN: if (in_done || (w_take && w_last)) state <= IDLE;
        default: state <= IDLE;
      endcase
    end
  end

  table_rom #(.WIDTH(LUT_W), .DEPTH(1 << L), .ADDR_BITS(L), .INIT_FILE(LUT_FILE), .PLUSARG("LUT_MEM"), .BLOCK(LUT_BLOCK))
      u_lut (.clk(clk), .en(lut_en), .addr(window), .data(lut_q));

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

  assign busy = (state != IDLE) || vb || m_valid;
endmodule
