// The code window both stream decoders read through (huffman_decoder.sv, coded_decoder.sv): 16-bit
// words, MSB first, arrive on a valid/ready/last input through a register slice; a bit buffer holds the
// unread bits and the next L of them address the 2^L-entry decode table ({symbol, 4-bit code length}),
// a synchronous ROM. Its registered output is the only state in the decode loop: `take`
// consumes the head code (its length moves the bit pointer) and presents the next window in the same
// clock, so codes are decoded back to back. Timing: table ROM output -> 6-bit subtract -> 32-bit
// shifter -> table ROM address.
//
// Command: `start` (in IDLE) loads words until L bits are unread, skipping `skip` bits at the top of
// the first, then looks up the head code (two clocks after the load: LOOKUP, then RUN). Words read ahead
// past the one with s_last count as zero. `finish`, raised by the decoder with the last weight it
// gives, drops the words it did not need up to s_last, so consecutive commands stay aligned.
module code_window #(
    parameter int L = 12,           // decode window: the longest code, <= 15
    parameter int SYM_BITS = 12,    // decode-table entry: a symbol above a 4-bit code length
    parameter LUT_FILE = "",
    parameter int LUT_BLOCK = 1,    // 1: the table asks for block RAM; 0: LUTs
    localparam int LUT_W = SYM_BITS + 4
) (
    input  logic             clk,
    input  logic             rst_n,
    input  logic             start,
    input  logic [3:0]       skip,      // code bits to skip at the top of the first word
    output logic             running,   // a command is in progress (not IDLE)
    output logic             in_run,    // lut_q is the head code's entry
    output logic             can_take,  // in_run, with a refill word at hand in case the code needs one
    input  logic             take,      // consume the head code (only with can_take)
    input  logic             finish,    // the last weight is given this clock
    input  logic             s_valid,
    output logic             s_ready,
    input  logic [15:0]      s_word,
    input  logic             s_last,
    output logic [SYM_BITS-1:0] symbol  // the head code's symbol (valid with in_run)
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

  logic [2:0]  state;
  logic [31:0] cbuf;      // the cn lowest bits are unread, next bit at cn - 1
  logic [5:0]  cn;
  logic [3:0]  skip_r;
  logic        in_done;   // the word with s_last was taken: later words read as zero

  logic [LUT_W-1:0] lut_q;
  assign symbol = lut_q[LUT_W-1:4];

  logic [3:0]   len;
  logic [L-1:0] window;
  logic         lut_en, wok, refill, load, load_done;
  logic [15:0]  wdata;
  logic [5:0]   rem, cn_run, cn_load, shift;
  logic [31:0]  cbuf_run, cbuf_load;

  assign running  = state != IDLE;
  assign in_run   = state == RUN;
  assign wok      = in_done || w_valid;
  assign wdata    = in_done ? 16'h0 : w_data;
  // a code is taken only when a refill word is there in case it needs one (cn >= 2L cannot need it)
  assign can_take = in_run && (wok || cn >= LW2);
  assign len      = in_run ? lut_q[3:0] : 4'd0;  // LOOKUP reads the table at the current head
  assign rem      = cn - {2'b0, len};
  assign refill   = take && (rem < LW);
  assign cbuf_run = refill ? {cbuf[15:0], wdata} : cbuf;
  assign cn_run   = refill ? rem + 6'd16 : rem;
  assign shift    = cn_run - LW;
  assign window   = L'(cbuf_run >> shift);
  assign lut_en   = take || state == LOOKUP;

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
    end else begin
      if (w_take && w_last) in_done <= 1'b1;
      case (state)
        IDLE:
          if (start) begin
            state   <= LOAD;
            in_done <= 1'b0;
            cn      <= '0;
            cbuf    <= '0;
            skip_r  <= skip;
          end
        LOAD:
          if (load) begin
            cbuf   <= cbuf_load;
            cn     <= cn_load;
            skip_r <= 4'd0;
            if (load_done) state <= LOOKUP;
          end
        LOOKUP: state <= RUN;
        RUN: begin
          if (take) begin
            cbuf <= cbuf_run;
            cn   <= cn_run;
          end
          if (finish) state <= DRAIN;
        end
        DRAIN: if (in_done || (w_take && w_last)) state <= IDLE;
        default: state <= IDLE;
      endcase
    end
  end

  table_rom #(.WIDTH(LUT_W), .DEPTH(1 << L), .ADDR_BITS(L), .INIT_FILE(LUT_FILE), .PLUSARG("LUT_MEM"), .BLOCK(LUT_BLOCK))
      u_lut (.clk(clk), .en(lut_en), .addr(window), .data(lut_q));
endmodule
