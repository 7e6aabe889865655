// Weight-sharing decoder for clustered layers: the index reads the codebook ROM
// (raw bits of the k shared values). Same handshake, latency and outputs as
// weight_decoder, so the streamer swaps one for the other.
module codebook_decoder #(
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 23,
    parameter int INDEX_BITS = 4,
    parameter int BOOK_DEPTH = 1 << INDEX_BITS,
    parameter BOOK_FILE = "",
    parameter BOOK_PLUSARG = "",
    localparam int W = 1 + EXP_BITS + MAN_BITS
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic                  s_valid,
    output logic                  s_ready,
    input  logic [INDEX_BITS-1:0] s_index,
    input  logic                  s_last,
    output logic                  m_valid,
    input  logic                  m_ready,
    output logic [W-1:0]          m_weight,
    output logic [31:0]           m_fp32,
    output logic                  m_last
);
  logic         v1, last1, adv1, adv2;
  logic [W-1:0] value1;
  logic [31:0]  fp32;

  assign adv2    = !m_valid || m_ready;
  assign adv1    = !v1 || adv2;
  assign s_ready = adv1;

  table_rom #(
      .WIDTH(W), .DEPTH(BOOK_DEPTH), .ADDR_BITS(INDEX_BITS),
      .INIT_FILE(BOOK_FILE), .PLUSARG(BOOK_PLUSARG), .BLOCK(0)
  ) u_book (
      .clk(clk), .en(adv1), .addr(s_index), .data(value1)
  );

  always_ff @(posedge clk) begin
    if (!rst_n) v1 <= 1'b0;
    else if (adv1) v1 <= s_valid;
    if (adv1) last1 <= s_last;
  end

  fp32_widen #(.EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS)) u_widen (.x(value1), .y(fp32));

  always_ff @(posedge clk) begin
    if (!rst_n) m_valid <= 1'b0;
    else if (adv2) m_valid <= v1;
    if (adv2) begin
      m_weight <= value1;
      m_fp32   <= fp32;
      m_last   <= last1;
    end
  end
endmodule
