// One entropy-coded layer held on chip: the code stream in a ROM of 16-bit words, the code-stream
// bit offset of every BLOCK-th weight in a small ROM, and a huffman_decoder. `start` decodes
// `n_blocks` blocks from block `first_block` (clipped at the layer's end): two offset-ROM reads
// give the first and the end bit, a reader streams exactly the words between them (s_last on
// the final one) into the decoder, which emits the weights on a valid/ready/last stream.
module huffman_streamer #(
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 7,
    parameter int UPPER_BITS = EXP_BITS,
    parameter int MANT_W = MAN_BITS,
    parameter int MANT_SHIFT = 0,
    parameter int L = 12,
    parameter int DEPTH = 1024,                 // weights in the layer
    parameter int ADDR_BITS = (DEPTH > 1) ? $clog2(DEPTH) : 1,
    parameter int BLOCK = 4096,                 // weights per offset
    parameter int NUM_BLOCKS = 1,               // ceil(DEPTH / BLOCK); the offset ROM holds NUM_BLOCKS - 1
    parameter int BLOCK_BITS = (NUM_BLOCKS > 1) ? $clog2(NUM_BLOCKS) : 1,
    parameter int OFFSET_BITS = 16,             // width of one stored offset
    parameter int CODE_BITS = 0,                // length of the code stream
    parameter int CODE_DEPTH = 1,               // 16-bit words in the code ROM
    parameter int CODE_ADDR_BITS = (CODE_DEPTH > 1) ? $clog2(CODE_DEPTH) : 1,
    parameter CODE_FILE = "",
    parameter OFFSET_FILE = "",
    parameter LUT_FILE = "",
    parameter SIGN_FILE = "",
    parameter MANTISSA_FILE = "",
    parameter int CODE_BLOCK = 1,
    parameter int LUT_BLOCK = 1,
    parameter int SIGN_BLOCK = 1,
    parameter int MANTISSA_BLOCK = 1,
    localparam int W = 1 + EXP_BITS + MAN_BITS,
    // offset ROM: NUM_BLOCKS - 1 entries, rounded up to the block index's range (no out-of-range address)
    localparam int OFF_DEPTH = (NUM_BLOCKS > 1) ? (1 << BLOCK_BITS) : 1
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic                  start,
    input  logic [BLOCK_BITS-1:0] first_block,
    input  logic [BLOCK_BITS:0]   n_blocks,
    output logic                  busy,
    output logic                  m_valid,
    input  logic                  m_ready,
    output logic [W-1:0]          m_weight,
    output logic [31:0]           m_fp32,
    output logic                  m_last
);
  localparam logic [1:0] IDLE = 2'd0, FIRST = 2'd1, LAST = 2'd2, READ = 2'd3;

  logic [1:0]            state;
  logic [BLOCK_BITS:0]   fb, eb;       // first block, end block (exclusive)
  logic [BLOCK_BITS:0]   eb_start;
  logic [31:0]           sbit, ebit;   // first and end code bit
  logic [BLOCK_BITS-1:0] off_addr;
  logic [OFFSET_BITS-1:0] off_q;
  logic                  off_en;

  assign eb_start = ({1'b0, first_block} + n_blocks > (BLOCK_BITS + 1)'(NUM_BLOCKS))
                    ? (BLOCK_BITS + 1)'(NUM_BLOCKS) : {1'b0, first_block} + n_blocks;
  // IDLE reads the offset of the first block, FIRST the offset of the end block
  assign off_en   = (state == IDLE) || (state == FIRST);
  assign off_addr = (state == IDLE) ? BLOCK_BITS'(first_block - 1'b1) : BLOCK_BITS'(eb - 1'b1);

  table_rom #(.WIDTH(OFFSET_BITS), .DEPTH(OFF_DEPTH), .ADDR_BITS(BLOCK_BITS), .INIT_FILE(OFFSET_FILE),
              .PLUSARG("OFFSET_MEM"), .BLOCK(0))
      u_offsets (.clk(clk), .en(off_en), .addr(off_addr), .data(off_q));

  // decoder command, issued in LAST
  logic                      dec_start, dec_busy;
  logic [31:0]               first_w, end_w;
  logic [CODE_ADDR_BITS-1:0] addr, last_addr;
  assign first_w   = 32'(fb) * BLOCK;
  assign end_w     = (eb == (BLOCK_BITS + 1)'(NUM_BLOCKS)) ? DEPTH : 32'(eb) * BLOCK;
  assign dec_start = (state == LAST);
  assign ebit      = (eb == (BLOCK_BITS + 1)'(NUM_BLOCKS)) ? CODE_BITS : 32'(off_q);  // read in FIRST

  // code-ROM reader: a word is read only when the decoder can take it (see weight_streamer)
  logic        reading, fetch_valid, fetch_last, fetch_en, dec_ready, issue;
  logic [15:0] fetch_word;
  assign fetch_en = !fetch_valid || dec_ready;
  assign issue    = reading && fetch_en;

  table_rom #(.WIDTH(16), .DEPTH(CODE_DEPTH), .ADDR_BITS(CODE_ADDR_BITS), .INIT_FILE(CODE_FILE), .PLUSARG("CODE_MEM"),
              .BLOCK(CODE_BLOCK))
      u_code (.clk(clk), .en(fetch_en), .addr(addr), .data(fetch_word));

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state       <= IDLE;
      reading     <= 1'b0;
      fetch_valid <= 1'b0;
    end else begin
      case (state)
        IDLE:
          if (start && !dec_busy && {1'b0, first_block} < (BLOCK_BITS + 1)'(NUM_BLOCKS) && n_blocks != '0) begin
            fb    <= {1'b0, first_block};
            eb    <= eb_start;
            state <= FIRST;
          end
        FIRST: begin
          sbit  <= (fb == '0) ? 32'd0 : 32'(off_q);
          state <= LAST;
        end
        LAST: begin
          addr      <= CODE_ADDR_BITS'(sbit >> 4);
          last_addr <= CODE_ADDR_BITS'(((ebit > sbit) ? ebit - 1 : sbit) >> 4);
          reading   <= 1'b1;
          state     <= READ;
        end
        READ: if (!reading && !fetch_valid) state <= IDLE;
        default: state <= IDLE;
      endcase
      if (fetch_en) begin
        fetch_valid <= issue;
        fetch_last  <= addr == last_addr;
      end
      if (issue) begin
        addr <= addr + 1'b1;
        if (addr == last_addr) reading <= 1'b0;
      end
    end
  end

  huffman_decoder #(
      .EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS), .UPPER_BITS(UPPER_BITS), .MANT_W(MANT_W), .MANT_SHIFT(MANT_SHIFT),
      .L(L), .DEPTH(DEPTH), .ADDR_BITS(ADDR_BITS), .LUT_FILE(LUT_FILE), .SIGN_FILE(SIGN_FILE),
      .MANTISSA_FILE(MANTISSA_FILE), .LUT_BLOCK(LUT_BLOCK), .SIGN_BLOCK(SIGN_BLOCK), .MANTISSA_BLOCK(MANTISSA_BLOCK)
  ) u_decoder (
      .clk(clk), .rst_n(rst_n), .start(dec_start), .first(ADDR_BITS'(first_w)), .skip(sbit[3:0]),
      .n_weights((ADDR_BITS + 1)'(end_w - first_w)), .busy(dec_busy),
      .s_valid(fetch_valid), .s_ready(dec_ready), .s_word(fetch_word), .s_last(fetch_last),
      .m_valid(m_valid), .m_ready(m_ready), .m_weight(m_weight), .m_fp32(m_fp32), .m_last(m_last)
  );

  assign busy = (state != IDLE) || dec_busy;
endmodule
