// One channel lane's weights from an entropy-coded stream (the huffman scheme) for rtl/mac_engine.sv:
// the same outputs as lane_wsrc.sv (unpacked weights on a valid/ready stream, one a clock, the lane's
// DEPTH weights per image, over and over), read from the lane's own record stream
// (pycompress/hw/rtl/huffman_lanes.py): per weight, in the lane's order, the canonical Huffman code of
// its symbol (exponent field and HEAD top mantissa bits, CODE LENGTHS <= L), then its sign, then the
// REST mantissa bits below the head; back to back, MSB first, in 36-bit words (so a record of at most
// L + 1 + REST <= 36 bits spans two words at most), the last word zero padded.
//
// Decoding is canonical: the code's length is the shortest l whose left-justified limit LIMIT[l]
// exceeds the next L stream bits, its symbol SYM[BASE[l] + the code's value] (tables of L and NSYM
// entries, "<prefix>_hlimit.mem", "<prefix>_hbase.mem", "<prefix>_hsym.mem"). The loop that finds the
// next record's start (two words, a bit offset, the limit comparisons, the offset update) is one
// clock; the symbol lookup and the weight's assembly follow in a pipeline on credit from the output
// FIFO, as in lane_wsrc. Code-stream words: a memory with a registered read and a register after it.
module lane_hsrc #(
    parameter int SUBNORMALS = 1,
    parameter int WB = 8,
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 7,
    parameter int HEAD = 0,         // mantissa bits inside the symbol
    parameter int REST = 7,         // mantissa bits after the sign
    parameter int L = 12,           // longest code (0: a single symbol, no code bits)
    parameter int NSYM = 1,
    parameter int DEPTH = 16,       // weights per image
    parameter int WORDS = 1,        // 36-bit stream words
    parameter CODE_FILE = "",
    parameter LIMIT_FILE = "",
    parameter BASE_FILE = "",
    parameter SYM_FILE = "",
    localparam int W = 1 + EXP_BITS + MAN_BITS
) (
    input  logic        clk,
    input  logic        rst_n,
    output logic        m_valid,
    input  logic        m_ready,
    output logic [35:0] m_w
);
  localparam int MW = 36;
  localparam int CNTW = $clog2(DEPTH + 1);
  localparam int OW = 7;                      // bit offset 0..71
  localparam int LL = L > 0 ? L : 1;
  localparam int LW = $clog2(LL + 1);         // code length 0..L
  localparam int SB = NSYM > 1 ? $clog2(NSYM) : 1;
  localparam int REC = L + 1 + REST;          // longest record
  localparam int FD = 4;                     // word FIFO
  localparam int FO = 8;                     // output FIFO: more than the decode pipeline holds
  localparam int OC = $clog2(FO + 1);

  // ---- fetch: stream words in order, cyclically, on credit (word_fetch, as lane_wsrc) ----
  logic          w_valid, w_pop, o_space;
  logic [MW-1:0] w_head;
  logic [OC-1:0] ocount;
  word_fetch #(.MW(MW), .WORDS(WORDS), .DEPTH(FD), .FILE(CODE_FILE)) u_fetch (
      .clk(clk), .rst_n(rst_n), .w_valid(w_valid), .w_pop(w_pop), .w_head(w_head)
  );

  // ---- the record loop: two words, a bit offset; the next record's code length from the limits ----
  logic [L:0]      limit[LL];  // left-justified, L + 1 bits (the last one is 2^L)
  logic [SB:0]     base[LL];   // first sorted index of length l minus its first code (two's complement)
  initial if (LIMIT_FILE != "") $readmemh(LIMIT_FILE, limit);
  initial if (BASE_FILE != "") $readmemh(BASE_FILE, base);
  logic [MW-1:0]   cur, nxt;
  logic            cv, nv, realign, emit, credit, crossw, last_rec;
  logic [OW-1:0]   off, off_n;
  logic [CNTW-1:0] cnt;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [2*MW-1:0] win_all;  // the record is its top REC bits
  /* verilator lint_on UNUSEDSIGNAL */
  logic [REC-1:0]  win;
  logic [LW-1:0]   len;
  logic            d1_v, d2_v, d3_v, d4_v;
  assign win_all = {cur, nxt} << off;
  assign win = win_all[2*MW-1-:REC];
  always_comb begin
    len = LW'(L);
    if (L > 0) for (int l = L; l >= 1; l--) if ({1'b0, win[REC-1-:LL]} < limit[l-1]) len = LW'(l);
  end
  assign credit = int'(ocount) + int'(d1_v) + int'(d2_v) + int'(d3_v) + int'(d4_v) < FO;
  assign emit = cv && nv && !realign && credit;
  assign off_n = off + OW'(len) + OW'(1 + REST);
  assign crossw = off_n >= OW'(MW);
  assign last_rec = cnt == CNTW'(DEPTH - 1);
  always_comb begin
    w_pop = 1'b0;
    if (realign) w_pop = w_valid;
    else if (emit && crossw) w_pop = w_valid;
    else if (!cv || !nv) w_pop = w_valid;
  end
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {cv, nv, realign} <= '0;
      off <= '0;
      cnt <= '0;
    end else if (realign) begin  // the image's last record is done: skip the padding, restart at word 0
      nxt <= w_head;
      nv <= w_valid;
      if (nv) begin
        cur <= nxt;
        off <= '0;
        realign <= 1'b0;
      end
    end else if (emit) begin
      cnt <= last_rec ? '0 : cnt + 1'b1;
      if (crossw) begin
        cur <= nxt;
        nxt <= w_head;
        nv <= w_valid;
        off <= off_n - OW'(MW);
        realign <= last_rec && off_n != OW'(MW);
      end else begin
        off <= last_rec ? off : off_n;
        realign <= last_rec;
      end
    end else if (!cv) begin
      cur <= w_head;
      cv <= w_valid;
    end else if (!nv) begin
      nxt <= w_head;
      nv <= w_valid;
    end
  end

  // ---- symbol, sign and mantissa of the record; the weight, widened and unpacked ----
  logic [REC-1:0] d1_win;
  logic [LW-1:0]  d1_len;
  logic [SB-1:0]  d2_idx;
  logic           d2_sign;
  logic [REST > 0 ? REST - 1 : 0:0] d2_rest;
  logic [EXP_BITS+HEAD-1:0] sym[NSYM];
  initial if (SYM_FILE != "") $readmemh(SYM_FILE, sym);
  logic [EXP_BITS+HEAD-1:0] d3_sym;
  logic           d3_sign;
  logic [REST > 0 ? REST - 1 : 0:0] d3_rest;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [REC-1:0] after;   // the record shifted past its code: sign, then rest
  logic [LL-1:0]  code;    // the code's value, right-aligned (its low SB + 1 bits suffice, modulo)
  logic [SB:0]    idx;     // in range: its top bit is the modulo's
  /* verilator lint_on UNUSEDSIGNAL */
  always_comb begin
    after = d1_win << d1_len;
    code = LL'(d1_win[REC-1-:LL] >> (LL - int'(d1_len)));
    idx = (L > 0 && d1_len != '0) ? base[d1_len-1'b1] + (SB + 1)'(code) : '0;
  end
  always_ff @(posedge clk) begin
    if (!rst_n) {d1_v, d2_v, d3_v} <= '0;
    else {d1_v, d2_v, d3_v} <= {emit, d1_v, d2_v};
    if (emit) begin
      d1_win <= win;
      d1_len <= len;
    end
    d2_idx <= SB'(idx);
    d2_sign <= after[REC-1];
    d2_rest <= REST > 0 ? after[REC-2-:(REST > 0 ? REST : 1)] : '0;
    d3_sym <= sym[d2_idx];
    d3_sign <= d2_sign;
    d3_rest <= d2_rest;
  end
  logic [MAN_BITS-1:0] man;
  logic [W-1:0]        weight;
  logic [31:0]         fp32;
  logic [35:0]         unp, d4_w;
  generate
    if (HEAD > 0 && REST > 0) begin : g_hr
      assign man = MAN_BITS'({d3_sym[HEAD-1:0], d3_rest} << (MAN_BITS - HEAD - REST));
    end else if (HEAD > 0) begin : g_h
      assign man = MAN_BITS'(d3_sym[HEAD-1:0] << (MAN_BITS - HEAD));
    end else if (REST > 0) begin : g_r
      assign man = MAN_BITS'(d3_rest << (MAN_BITS - REST));
    end else begin : g_none
      assign man = '0;
    end
  endgenerate
  assign weight = {d3_sign, d3_sym[EXP_BITS+HEAD-1-:EXP_BITS], man};
  fp32_widen #(.EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS)) u_widen (.x(weight), .y(fp32));
  fp32_unpack #(.SUBNORMALS(SUBNORMALS), .FB(WB - 1)) u_unpack (.x(fp32), .u(unp));
  always_ff @(posedge clk) begin
    if (!rst_n) d4_v <= 1'b0;
    else d4_v <= d3_v;
    d4_w <= unp;
  end
  sync_fifo #(.WIDTH(36), .DEPTH(FO)) u_out (
      .clk(clk), .rst_n(rst_n), .s_valid(d4_v), .s_ready(o_space), .s_data(d4_w),
      .m_valid(m_valid), .m_ready(m_ready), .m_data(m_w), .count(ocount)
  );
  logic unused_ok;
  assign unused_ok = ^{o_space, d1_win};
endmodule
