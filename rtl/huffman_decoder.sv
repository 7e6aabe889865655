// Entropy-coded weight decoder (scheme "huffman", issue 15): one weight per clock from the
// packed code stream. The code stream arrives as 16-bit words, MSB first, on a valid/ready/last
// input; a bit buffer holds the unread bits and the next L of them address the 2^L-entry decode
// table (exponent field + head mantissa bits, code length), a synchronous ROM. Its registered
// output is the only state in the decode loop: the code length it gives moves the bit pointer
// and forms the next table address in the same clock, so codes are decoded back to back.
// Sign and mantissa-rest fields are fixed width, so they live in ROMs addressed by the weight
// index (any weight is reachable); the fields are joined into the weight and widened to FP32.
//
// Command: `start` (in IDLE) decodes `n_weights` weights from weight `first`, whose code starts
// `skip` bits into the first word received. The producer sends the words that hold those codes
// and marks the final one with s_last; words the decoder reads ahead past it count as zero, and
// words it did not need are dropped up to s_last, so consecutive commands stay aligned.
// With the input never empty and m_ready high, N weights take N + 5 cycles, no bubbles (N + 6 when
// the first word holds fewer than L code bits after `skip`: a second word is loaded first).
// Timing: the loop path is table ROM output -> 6-bit subtract -> 32-bit shifter -> table ROM address.
// Fields are OR-joined, so a wider build (UPPER_BITS, MANT_W, MANT_SHIFT of a format's widest
// case) decodes any layer of that format when its images place the fields accordingly.
module huffman_decoder #(
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 7,
    parameter int UPPER_BITS = EXP_BITS,  // decode-table symbol: exponent field and head mantissa bits
    parameter int MANT_W = MAN_BITS,      // mantissa-rest bits per weight (0: none stored)
    parameter int MANT_SHIFT = 0,         // zero bits below the rest (narrowed mantissa)
    parameter int L = 12,                 // decode window: the longest code, <= 15
    parameter int DEPTH = 1024,           // weights in the sign and mantissa ROMs
    parameter int ADDR_BITS = (DEPTH > 1) ? $clog2(DEPTH) : 1,
    parameter LUT_FILE = "",
    parameter SIGN_FILE = "",
    parameter MANTISSA_FILE = "",
    // 1: the table asks for block RAM; 0: left to LUTs
    parameter int LUT_BLOCK = 1,
    parameter int SIGN_BLOCK = 1,
    parameter int MANTISSA_BLOCK = 1,
    localparam int W = 1 + EXP_BITS + MAN_BITS,
    localparam int LUT_W = UPPER_BITS + 4,
    localparam int MW = (MANT_W > 0) ? MANT_W : 1
) (
    input  logic                 clk,
    input  logic                 rst_n,
    input  logic                 start,
    input  logic [ADDR_BITS-1:0] first,      // weight index of the first weight decoded
    input  logic [3:0]           skip,       // code bits to skip at the top of the first word
    input  logic [ADDR_BITS:0]   n_weights,  // weights to decode (0: start is ignored)
    output logic                 busy,
    input  logic                 s_valid,
    output logic                 s_ready,
    input  logic [15:0]          s_word,
    input  logic                 s_last,
    output logic                 m_valid,
    input  logic                 m_ready,
    output logic [W-1:0]         m_weight,
    output logic [31:0]          m_fp32,
    output logic                 m_last
);
  localparam logic [2:0] IDLE = 3'd0, LOAD = 3'd1, LOOKUP = 3'd2, RUN = 3'd3, DRAIN = 3'd4;
  localparam logic [5:0] LW = 6'(L);
  localparam logic [5:0] LW2 = 6'(2 * L);

  // input words through a register slice: s_ready is a register
  logic        w_valid, w_last, w_take;
  logic [15:0] w_data;
  skid_buffer #(.WIDTH(17)) u_in (
      .clk(clk), .rst_n(rst_n),
      .s_valid(s_valid), .s_ready(s_ready), .s_data({s_last, s_word}),
      .m_valid(w_valid), .m_ready(w_take), .m_data({w_last, w_data})
  );

  logic [2:0]           state;
  logic [31:0]          cbuf;      // the cn lowest bits are unread, next bit at cn - 1
  logic [5:0]           cn;
  logic [3:0]           skip_r;
  logic                 in_done;   // the word with s_last was taken: later words read as zero
  logic [ADDR_BITS:0]   left;
  logic [ADDR_BITS-1:0] widx;

  // decode table: {symbol, code length} of the window presented the cycle before
  logic [LUT_W-1:0]      lut_q;
  logic [UPPER_BITS-1:0] upper_q;
  logic [3:0]            len_q, len;
  logic [L-1:0]          window;
  logic                  lut_en;
  assign upper_q = lut_q[LUT_W-1:4];
  assign len_q   = lut_q[3:0];

  // stage B: the symbol, sign and mantissa of the weight decoded last
  logic                  vb, last_b, adv_b, out_ready;
  logic [UPPER_BITS-1:0] upper_b;
  logic                  sign_b;
  logic [MW-1:0]         mant_b;

  logic        wok, fire, refill, load, load_done;
  logic [15:0] wdata;
  logic [5:0]  rem, cn_run, cn_load, shift;
  logic [31:0] cbuf_run, cbuf_load;

  assign wok   = in_done || w_valid;
  assign wdata = in_done ? 16'h0 : w_data;
  assign adv_b = !vb || out_ready;
  // fire only when a refill word is there in case the code needs one (cn >= 2L cannot need it)
  assign fire  = (state == RUN) && adv_b && (wok || cn >= LW2);
  assign len   = (state == RUN) ? len_q : 4'd0;  // LOOKUP reads the table at the current head
  assign rem   = cn - {2'b0, len};
  assign refill = fire && (rem < LW);
  assign cbuf_run = refill ? {cbuf[15:0], wdata} : cbuf;
  assign cn_run   = refill ? rem + 6'd16 : rem;
  assign shift    = cn_run - LW;
  assign window   = L'(cbuf_run >> shift);
  assign lut_en   = fire || state == LOOKUP;

  assign load      = (state == LOAD) && wok;
  assign cbuf_load = {cbuf[15:0], wdata};
  assign cn_load   = cn + 6'd16 - {2'b0, skip_r};
  assign load_done = cn_load >= LW;
  assign w_take    = !in_done && w_valid && (refill || load || state == DRAIN);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state   <= IDLE;
      in_done <= 1'b0;
      cn      <= '0;
      left    <= '0;
    end else begin
      if (w_take && w_last) in_done <= 1'b1;
      case (state)
        IDLE:
          if (start && n_weights != '0) begin
            state   <= LOAD;
            in_done <= 1'b0;
            cn      <= '0;
            cbuf    <= '0;
            skip_r  <= skip;
            left    <= n_weights;
            widx    <= first;
          end
        LOAD:
          if (load) begin
            cbuf   <= cbuf_load;
            cn     <= cn_load;
            skip_r <= 4'd0;
            if (load_done) state <= LOOKUP;
          end
        LOOKUP: state <= RUN;
        RUN:
          if (fire) begin
            cbuf <= cbuf_run;
            cn   <= cn_run;
            left <= left - 1'b1;
            widx <= widx + 1'b1;
            if (left == 1) state <= DRAIN;
          end
        DRAIN: if (in_done || (w_take && w_last)) state <= IDLE;
        default: state <= IDLE;
      endcase
    end
  end

  table_rom #(.WIDTH(LUT_W), .DEPTH(1 << L), .ADDR_BITS(L), .INIT_FILE(LUT_FILE), .PLUSARG("LUT_MEM"), .BLOCK(LUT_BLOCK))
      u_lut (.clk(clk), .en(lut_en), .addr(window), .data(lut_q));
  table_rom #(.WIDTH(1), .DEPTH(DEPTH), .ADDR_BITS(ADDR_BITS), .INIT_FILE(SIGN_FILE), .PLUSARG("SIGN_MEM"), .BLOCK(SIGN_BLOCK))
      u_sign (.clk(clk), .en(fire), .addr(widx), .data(sign_b));
  generate
    if (MANT_W > 0) begin : g_man
      table_rom #(.WIDTH(MW), .DEPTH(DEPTH), .ADDR_BITS(ADDR_BITS), .INIT_FILE(MANTISSA_FILE), .PLUSARG("MANTISSA_MEM"),
                  .BLOCK(MANTISSA_BLOCK))
          u_mantissa (.clk(clk), .en(fire), .addr(widx), .data(mant_b));
    end else begin : g_no_man
      assign mant_b = '0;
    end
  endgenerate

  always_ff @(posedge clk) begin
    if (!rst_n) vb <= 1'b0;
    else if (adv_b) vb <= fire;
    if (fire) begin
      upper_b <= upper_q;
      last_b  <= (left == 1);
    end
  end

  // join: sign on top, the symbol below it, the mantissa rest above MANT_SHIFT zero bits
  logic [W-1:0] weight;
  logic [31:0]  fp32;
  assign weight = {sign_b, {(W - 1){1'b0}}} | (W'(upper_b) << (W - 1 - UPPER_BITS)) | (W'(mant_b) << MANT_SHIFT);
  fp32_widen #(.EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS)) u_widen (.x(weight), .y(fp32));

  skid_buffer #(.WIDTH(W + 33)) u_out (
      .clk(clk), .rst_n(rst_n),
      .s_valid(vb), .s_ready(out_ready), .s_data({last_b, fp32, weight}),
      .m_valid(m_valid), .m_ready(m_ready), .m_data({m_last, m_fp32, m_weight})
  );

  assign busy = (state != IDLE) || vb || m_valid;
endmodule
