// Walks one layer's tables in address order and emits every weight, decoded, on a
// valid/ready/last stream. The table memories have one cycle of read latency and a
// read enable: the fetch stage only reads when the decoder can take the word, so
// nothing is lost under backpressure, and the output skid buffer registers ready.
// With ready held high a layer of N weights takes N + latency cycles, no bubbles.
// CLUSTER = 0: exponent sharing (sign, index, mantissa tables + exponent ROM);
// CLUSTER = 1: weight sharing (index table + codebook ROM).
module weight_streamer #(
    parameter int CLUSTER = 0,
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 7,
    parameter int STORED_MAN_BITS = MAN_BITS,
    parameter int INDEX_BITS = 8,
    parameter int ROM_DEPTH = 1 << INDEX_BITS,  // exponent ROM or codebook entries
    parameter int DEPTH = 1024,                 // weights in the tables
    parameter int ADDR_BITS = (DEPTH > 1) ? $clog2(DEPTH) : 1,
    parameter SIGN_FILE = "",
    parameter INDEX_FILE = "",
    parameter MANTISSA_FILE = "",
    parameter ROM_FILE = "",
    // 1: the table asks for block RAM; 0: left to LUTs (small tables, where a whole RAMB18 would be wasted)
    parameter int SIGN_BLOCK = 1,
    parameter int INDEX_BLOCK = 1,
    parameter int MANTISSA_BLOCK = 1,
    // plusarg names of the images under Verilator (several streamers in one build need distinct ones)
    parameter SIGN_PLUSARG = "SIGN_MEM",
    parameter INDEX_PLUSARG = "INDEX_MEM",
    parameter MANTISSA_PLUSARG = "MANTISSA_MEM",
    parameter ROM_PLUSARG = "ROM_MEM",
    localparam int W = 1 + EXP_BITS + MAN_BITS,
    localparam int SMB = (STORED_MAN_BITS > 0) ? STORED_MAN_BITS : 1
) (
    input  logic               clk,
    input  logic               rst_n,
    input  logic               start,      // pulse: stream the layer once from address 0
    input  logic [ADDR_BITS:0] n_weights,  // weights to stream (<= DEPTH)
    output logic               busy,
    output logic               m_valid,
    input  logic               m_ready,
    output logic [W-1:0]       m_weight,
    output logic [31:0]        m_fp32,
    output logic               m_last
);
  // fetch stage: address counter, table read
  logic                 running, fetch_valid, fetch_last, fetch_en, dec_ready;
  logic [ADDR_BITS-1:0] addr;
  logic [ADDR_BITS:0]   last_addr;
  logic                 issue, issue_last;

  assign fetch_en   = !fetch_valid || dec_ready;
  assign issue      = running && fetch_en;
  assign issue_last = ({1'b0, addr} == last_addr);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      running     <= 1'b0;
      fetch_valid <= 1'b0;
      addr        <= '0;
      last_addr   <= '0;
    end else begin
      if (fetch_en) begin
        fetch_valid <= issue;
        fetch_last  <= issue_last;
      end
      if (issue) begin
        addr <= addr + 1'b1;
        if (issue_last) running <= 1'b0;
      end
      if (start && !running && n_weights != '0) begin
        running   <= 1'b1;
        addr      <= '0;
        last_addr <= n_weights - 1'b1;
      end
    end
  end

  // decoder -> skid buffer
  logic         dec_valid, dec_last, out_ready;
  logic [W-1:0] dec_weight;
  logic [31:0]  dec_fp32;

  generate
    if (CLUSTER == 0) begin : g_expshare
      logic                  f_sign;
      logic [INDEX_BITS-1:0] f_index;
      logic [SMB-1:0]        f_mantissa;
      table_rom #(.WIDTH(1), .DEPTH(DEPTH), .ADDR_BITS(ADDR_BITS), .INIT_FILE(SIGN_FILE), .PLUSARG(SIGN_PLUSARG), .BLOCK(SIGN_BLOCK))
          u_sign (.clk(clk), .en(fetch_en), .addr(addr), .data(f_sign));
      table_rom #(.WIDTH(INDEX_BITS), .DEPTH(DEPTH), .ADDR_BITS(ADDR_BITS), .INIT_FILE(INDEX_FILE), .PLUSARG(INDEX_PLUSARG), .BLOCK(INDEX_BLOCK))
          u_index (.clk(clk), .en(fetch_en), .addr(addr), .data(f_index));
      if (STORED_MAN_BITS > 0) begin : g_man
        table_rom #(.WIDTH(SMB), .DEPTH(DEPTH), .ADDR_BITS(ADDR_BITS), .INIT_FILE(MANTISSA_FILE), .PLUSARG(MANTISSA_PLUSARG), .BLOCK(MANTISSA_BLOCK))
            u_mantissa (.clk(clk), .en(fetch_en), .addr(addr), .data(f_mantissa));
      end else begin : g_no_man
        assign f_mantissa = '0;
      end
      weight_decoder #(
          .EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS), .STORED_MAN_BITS(STORED_MAN_BITS), .INDEX_BITS(INDEX_BITS),
          .EXP_DEPTH(ROM_DEPTH), .EXP_ROM_FILE(ROM_FILE), .EXP_ROM_PLUSARG(ROM_PLUSARG)
      ) u_decoder (
          .clk(clk), .rst_n(rst_n),
          .s_valid(fetch_valid), .s_ready(dec_ready), .s_sign(f_sign), .s_index(f_index), .s_mantissa(f_mantissa),
          .s_last(fetch_last),
          .m_valid(dec_valid), .m_ready(out_ready), .m_weight(dec_weight), .m_fp32(dec_fp32), .m_last(dec_last)
      );
    end else begin : g_cluster
      logic [INDEX_BITS-1:0] f_index;
      table_rom #(.WIDTH(INDEX_BITS), .DEPTH(DEPTH), .ADDR_BITS(ADDR_BITS), .INIT_FILE(INDEX_FILE), .PLUSARG(INDEX_PLUSARG), .BLOCK(INDEX_BLOCK))
          u_index (.clk(clk), .en(fetch_en), .addr(addr), .data(f_index));
      codebook_decoder #(
          .EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS), .INDEX_BITS(INDEX_BITS), .BOOK_DEPTH(ROM_DEPTH),
          .BOOK_FILE(ROM_FILE), .BOOK_PLUSARG(ROM_PLUSARG)
      ) u_decoder (
          .clk(clk), .rst_n(rst_n),
          .s_valid(fetch_valid), .s_ready(dec_ready), .s_index(f_index), .s_last(fetch_last),
          .m_valid(dec_valid), .m_ready(out_ready), .m_weight(dec_weight), .m_fp32(dec_fp32), .m_last(dec_last)
      );
    end
  endgenerate

  skid_buffer #(.WIDTH(W + 33)) u_out (
      .clk(clk), .rst_n(rst_n),
      .s_valid(dec_valid), .s_ready(out_ready), .s_data({dec_last, dec_fp32, dec_weight}),
      .m_valid(m_valid), .m_ready(m_ready), .m_data({m_last, m_fp32, m_weight})
  );

  assign busy = running || fetch_valid || dec_valid || m_valid;
endmodule
