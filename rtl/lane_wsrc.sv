// One channel lane's weights for rtl/mac_engine.sv: the lane's codes, in the order the lane
// consumes them, decoded to unpacked weights (fp32_unpack format) on a valid/ready stream,
// one a clock, over and over (each image reads the lane's DEPTH codes once).
//
// The codes are those of pycompress.hw.layout (sign | index | mantissa for exponent sharing,
// the codebook index for weight sharing), CODE_BITS each:
// PACKED = 0: one code per memory word (small tables, left to LUTs);
// PACKED = 1: the lane's stream as pycompress.hw.layout.pack_stream writes it (codes back to
//   back, MSB first), held in WORD_BITS-wide words (18 or 36: a RAMB18 aspect ratio, so every
//   stored bit lands in block RAM); the unpacker keeps two words and a bit offset, and after
//   the last code of an image skips the padding to restart at word 0.
// The code then reads the exponent ROM (or codebook) and the weight is built in its format,
// widened to FP32 (fp32_widen) and unpacked (fp32_unpack, only its WB-1 fraction bits looked at).
//
// Memories have a registered read and a register after it (the block-RAM output register).
// Every stage issues on credit (FIFO count + words in flight < the FIFO depth), so nothing
// stalls inside a pipeline and m_ready reaches no memory combinationally.
module lane_wsrc #(
    parameter int SUBNORMALS = 1,
    parameter int WB = 8,
    parameter int CLUSTER = 0,
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 7,
    parameter int STORED_MAN_BITS = MAN_BITS,
    parameter int INDEX_BITS = 8,
    parameter int ROM_DEPTH = 1 << INDEX_BITS,
    parameter int CODE_BITS = 16,
    parameter int DEPTH = 16,        // codes per image
    parameter int PACKED = 0,
    parameter int WORD_BITS = 18,
    parameter int WORDS = 1,         // stream words (PACKED)
    parameter CODE_FILE = "",
    parameter ROM_FILE = "",
    localparam int W = 1 + EXP_BITS + MAN_BITS
) (
    input  logic        clk,
    input  logic        rst_n,
    output logic        m_valid,
    input  logic        m_ready,
    output logic [35:0] m_w
);
  localparam int MW = PACKED != 0 ? WORD_BITS : CODE_BITS;  // memory word
  localparam int ME = PACKED != 0 ? WORDS : DEPTH;          // memory entries
  localparam int CNTW = $clog2(DEPTH + 1);
  localparam int OW = $clog2(2 * MW + 1);
  localparam int FD = 4;                                    // FIFO depths
  localparam int FC = $clog2(FD + 1);

  // ---- fetch: memory words in order, cyclically, on credit (word_fetch) ----
  logic          w_valid, w_pop;
  logic [MW-1:0] w_head;
  word_fetch #(.MW(MW), .WORDS(ME), .DEPTH(FD), .FILE(CODE_FILE)) u_fetch (
      .clk(clk), .rst_n(rst_n), .w_valid(w_valid), .w_pop(w_pop), .w_head(w_head)
  );
  logic o_space;  // always: the credits keep the FIFO from filling

  // ---- codes (the unpacker of a packed stream), on credit from the output FIFO ----
  logic [CODE_BITS-1:0] code;
  logic                 emit, credit;
  logic [FC-1:0]        ocount;
  logic                 d1_v, d2_v;
  assign credit = int'(ocount) + int'(d1_v) + int'(d2_v) < FD;
  generate
    if (PACKED == 0) begin : g_plain
      assign code = w_head;
      assign emit = w_valid && credit;
      assign w_pop = emit;
    end else begin : g_packed
      logic [MW-1:0]   cur, nxt;
      logic            cv, nv, realign;
      logic [OW-1:0]   off, off_n;
      logic [CNTW-1:0] cnt;
      /* verilator lint_off UNUSEDSIGNAL */
      logic [2*MW-1:0] win;  // the code is its top CODE_BITS
      /* verilator lint_on UNUSEDSIGNAL */
      logic            crossw, last_code, fits;
      assign win = {cur, nxt} << off;
      assign code = win[2*MW-1-:CODE_BITS];
      assign fits = off + OW'(CODE_BITS) <= OW'(MW);
      assign emit = cv && (fits || nv) && !realign && credit;
      assign off_n = off + OW'(CODE_BITS);
      assign crossw = off_n >= OW'(MW);
      assign last_code = cnt == CNTW'(DEPTH - 1);
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
        end else if (realign) begin  // the last code's word is done: skip its padding, restart at word 0
          nxt <= w_head;
          nv <= w_valid;
          if (nv) begin
            cur <= nxt;
            off <= '0;
            realign <= 1'b0;
          end
        end else if (emit) begin
          cnt <= last_code ? '0 : cnt + 1'b1;
          if (crossw) begin
            cur <= nxt;
            cv <= nv;
            nxt <= w_head;
            nv <= w_valid;
            off <= off_n - OW'(MW);
            realign <= last_code && off_n != OW'(MW);
          end else begin
            off <= last_code ? off : off_n;
            realign <= last_code;
            if (!nv) begin
              nxt <= w_head;
              nv <= w_valid;
            end
          end
        end else if (!cv) begin
          cur <= w_head;
          cv <= w_valid;
        end else if (!nv) begin
          nxt <= w_head;
          nv <= w_valid;
        end
      end
    end
  endgenerate

  // ---- decode: exponent ROM / codebook (registered read), then the weight, widened and unpacked ----
  logic [CLUSTER != 0 ? W - 1 : EXP_BITS - 1:0] rom[ROM_DEPTH];
  initial if (ROM_FILE != "") $readmemh(ROM_FILE, rom);
  logic [CODE_BITS-1:0] d1_code;
  logic [W-1:0]         weight;
  logic [31:0]          fp32;
  logic [35:0]          unp, d2_w;
  always_ff @(posedge clk) begin
    if (!rst_n) {d1_v, d2_v} <= '0;
    else {d1_v, d2_v} <= {emit, d1_v};
    if (emit) d1_code <= code;
    d2_w <= unp;
  end
  generate
    if (CLUSTER != 0) begin : g_book
      logic [W-1:0] entry;
      always_ff @(posedge clk) if (emit) entry <= rom[INDEX_BITS'(code)];
      assign weight = entry;
      logic unused_code;
      assign unused_code = ^d1_code;
    end else begin : g_exp
      localparam int SMB = STORED_MAN_BITS > 0 ? STORED_MAN_BITS : 1;
      logic [EXP_BITS-1:0] e;
      logic [MAN_BITS-1:0] man;
      always_ff @(posedge clk) if (emit) e <= rom[code[CODE_BITS-2-:INDEX_BITS]];
      if (STORED_MAN_BITS == 0) begin : g_no_man
        assign man = '0;
      end else if (STORED_MAN_BITS == MAN_BITS) begin : g_full
        assign man = d1_code[SMB-1:0];
      end else begin : g_short
        assign man = {d1_code[SMB-1:0], {(MAN_BITS - STORED_MAN_BITS) {1'b0}}};
      end
      assign weight = {d1_code[CODE_BITS-1], e, man};
    end
  endgenerate
  fp32_widen #(.EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS)) u_widen (.x(weight), .y(fp32));
  fp32_unpack #(.SUBNORMALS(SUBNORMALS), .FB(WB - 1)) u_unpack (.x(fp32), .u(unp));
  sync_fifo #(.WIDTH(36), .DEPTH(FD)) u_out (
      .clk(clk), .rst_n(rst_n), .s_valid(d2_v), .s_ready(o_space), .s_data(d2_w),
      .m_valid(m_valid), .m_ready(m_ready), .m_data(m_w), .count(ocount)
  );
  logic unused_space;
  assign unused_space = o_space;
endmodule
