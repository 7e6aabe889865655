// One engine lane's weights: its own weight_streamer (exponent sharing or codebook) and
// its bias table, the images named by the lane number as pycompress.hw.rtl.images.fc_lane_images
// writes them: "<IMAGE_PREFIX>_lNN_{sign,index,mantissa,bias}.mem" and the shared
// "<IMAGE_PREFIX>_rom.mem" when IMAGES != 0, else only the Verilator plusargs
// LNN_{SIGN,INDEX,MANTISSA,BIAS}_MEM and ROM_MEM. Shared by fc_engine and conv_engine so
// the naming and the streamer wiring exist once. The bias table reads `bias_addr` with
// one clock of latency (LUTs: a lane holds a few biases).
module lane_weights #(
    parameter int LANE = 0,
    parameter int CLUSTER = 0,
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 7,
    parameter int STORED_MAN_BITS = MAN_BITS,
    parameter int INDEX_BITS = 8,
    parameter int ROM_DEPTH = 1 << INDEX_BITS,
    parameter int DEPTH = 1024,            // weights in the lane's tables
    parameter int ADDR_BITS = DEPTH > 1 ? $clog2(DEPTH) : 1,
    parameter int SIGN_BLOCK = 1,
    parameter int INDEX_BLOCK = 1,
    parameter int MANTISSA_BLOCK = 1,
    parameter int IMAGES = 0,
    parameter IMAGE_PREFIX = "layer",
    parameter int BIAS_DEPTH = 1,          // biases (outputs) of the lane
    parameter int BIAS_ADDR_BITS = 1
) (
    input  logic                      clk,
    input  logic                      rst_n,
    input  logic                      start,      // pulse: stream the lane's weights from address 0
    input  logic [ADDR_BITS:0]        n_weights,
    output logic                      m_valid,
    input  logic                      m_ready,
    output logic [31:0]               m_fp32,
    input  logic [BIAS_ADDR_BITS-1:0] bias_addr,
    output logic [31:0]               bias
);
  localparam logic [15:0] LN = {8'(48 + LANE / 10), 8'(48 + LANE % 10)};
  localparam SIGN_F = IMAGES != 0 ? {IMAGE_PREFIX, "_l", LN, "_sign.mem"} : "";
  localparam INDEX_F = IMAGES != 0 ? {IMAGE_PREFIX, "_l", LN, "_index.mem"} : "";
  localparam MAN_F = IMAGES != 0 ? {IMAGE_PREFIX, "_l", LN, "_mantissa.mem"} : "";
  localparam BIAS_F = IMAGES != 0 ? {IMAGE_PREFIX, "_l", LN, "_bias.mem"} : "";
  localparam ROM_F = IMAGES != 0 ? {IMAGE_PREFIX, "_rom.mem"} : "";

  logic [1+EXP_BITS+MAN_BITS-1:0] w_narrow;
  logic w_last, busy;
  weight_streamer #(
      .CLUSTER(CLUSTER), .EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS), .STORED_MAN_BITS(STORED_MAN_BITS),
      .INDEX_BITS(INDEX_BITS), .ROM_DEPTH(ROM_DEPTH), .DEPTH(DEPTH), .ADDR_BITS(ADDR_BITS),
      .SIGN_FILE(SIGN_F), .INDEX_FILE(INDEX_F), .MANTISSA_FILE(MAN_F), .ROM_FILE(ROM_F),
      .SIGN_BLOCK(SIGN_BLOCK), .INDEX_BLOCK(INDEX_BLOCK), .MANTISSA_BLOCK(MANTISSA_BLOCK),
      .SIGN_PLUSARG({"L", LN, "_SIGN_MEM"}), .INDEX_PLUSARG({"L", LN, "_INDEX_MEM"}),
      .MANTISSA_PLUSARG({"L", LN, "_MANTISSA_MEM"}), .ROM_PLUSARG("ROM_MEM")
  ) u_weights (
      .clk(clk), .rst_n(rst_n), .start(start), .n_weights(n_weights), .busy(busy), .m_valid(m_valid),
      .m_ready(m_ready), .m_weight(w_narrow), .m_fp32(m_fp32), .m_last(w_last)
  );
  table_rom #(.WIDTH(32), .DEPTH(BIAS_DEPTH), .ADDR_BITS(BIAS_ADDR_BITS), .INIT_FILE(BIAS_F),
              .PLUSARG({"L", LN, "_BIAS_MEM"}), .BLOCK(0))
      u_bias (.clk(clk), .en(1'b1), .addr(bias_addr), .data(bias));
  logic unused_ok;
  assign unused_ok = ^{w_narrow, w_last, busy};
endmodule
