// Entropy-coded weight decoder (scheme "huffman", issue 15): one weight per clock from the
// packed code stream. The code stream arrives as 16-bit words, MSB first, on a valid/ready/last
// input; a bit buffer holds the unread bits and the next L of them address the 2^L-entry decode
// table (exponent field + head mantissa bits, code length), a synchronous ROM (code_window.sv).
// Its registered output is the only state in the decode loop: the code length it gives moves the
// bit pointer and forms the next table address in the same clock, so codes are decoded back to back.
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
  logic [ADDR_BITS:0]   left;
  logic [ADDR_BITS-1:0] widx;

  // the code window (input words, bit buffer, decode table): {symbol, code length} of the head code
  logic [UPPER_BITS-1:0] upper_q;
  logic                  begin_cmd, running, in_run, can_take, fire;
  assign begin_cmd = start && n_weights != '0 && !running;
  code_window #(.L(L), .SYM_BITS(UPPER_BITS), .LUT_FILE(LUT_FILE), .LUT_BLOCK(LUT_BLOCK)) u_window (
      .clk(clk), .rst_n(rst_n), .start(begin_cmd), .skip(skip), .running(running), .in_run(in_run),
      .can_take(can_take), .take(fire), .finish(fire && left == 1),
      .s_valid(s_valid), .s_ready(s_ready), .s_word(s_word), .s_last(s_last), .symbol(upper_q)
  );

  // stage B: the symbol, sign and mantissa of the weight decoded last
  logic                  vb, last_b, adv_b, out_ready;
  logic [UPPER_BITS-1:0] upper_b;
  logic                  sign_b;
  logic [MW-1:0]         mant_b;

  assign adv_b = !vb || out_ready;
  assign fire  = can_take && adv_b;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      left <= '0;
    end else if (begin_cmd) begin
      left <= n_weights;
      widx <= first;
    end else if (fire) begin
      left <= left - 1'b1;
      widx <= widx + 1'b1;
    end
  end

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

  assign busy = running || vb || m_valid;
  logic unused;
  assign unused = in_run;  // can_take implies it: every code here is one weight
endmodule
