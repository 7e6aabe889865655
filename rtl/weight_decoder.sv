// Exponent-sharing weight decoder (TECS'24 Fig. 14): the index reads the layer's
// exponent ROM, then sign, exponent and mantissa are joined into the weight in its
// format and widened to FP32. Two pipeline stages, one weight per clock,
// valid/ready on both sides (a stage advances when the next one can take it).
module weight_decoder #(
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 7,
    parameter int STORED_MAN_BITS = MAN_BITS,  // top mantissa bits kept; the rest are zero
    parameter int INDEX_BITS = 8,
    parameter int EXP_DEPTH = 1 << INDEX_BITS,
    parameter EXP_ROM_FILE = "",
    parameter EXP_ROM_PLUSARG = "",
    localparam int W = 1 + EXP_BITS + MAN_BITS,
    localparam int SMB = (STORED_MAN_BITS > 0) ? STORED_MAN_BITS : 1
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic                  s_valid,
    output logic                  s_ready,
    input  logic                  s_sign,
    input  logic [INDEX_BITS-1:0] s_index,
    input  logic [SMB-1:0]        s_mantissa,
    input  logic                  s_last,
    output logic                  m_valid,
    input  logic                  m_ready,
    output logic [W-1:0]          m_weight,
    output logic [31:0]           m_fp32,
    output logic                  m_last
);
  // stage 1: exponent ROM read
  logic                v1, sign1, last1;
  logic [SMB-1:0]      man1;
  logic [EXP_BITS-1:0] exp1;
  logic                adv1, adv2;

  assign adv2    = !m_valid || m_ready;
  assign adv1    = !v1 || adv2;
  assign s_ready = adv1;

  table_rom #(
      .WIDTH(EXP_BITS), .DEPTH(EXP_DEPTH), .ADDR_BITS(INDEX_BITS),
      .INIT_FILE(EXP_ROM_FILE), .PLUSARG(EXP_ROM_PLUSARG), .BLOCK(0)
  ) u_exp_rom (
      .clk(clk), .en(adv1), .addr(s_index), .data(exp1)
  );

  always_ff @(posedge clk) begin
    if (!rst_n) v1 <= 1'b0;
    else if (adv1) v1 <= s_valid;
    if (adv1) begin
      sign1 <= s_sign;
      man1  <= s_mantissa;
      last1 <= s_last;
    end
  end

  // stage 2: join the fields and widen
  logic [MAN_BITS-1:0] man_full;
  logic [W-1:0]        weight;
  logic [31:0]         fp32;
  generate
    if (STORED_MAN_BITS == 0) begin : g_no_man
      logic unused_man;
      assign unused_man = ^man1;
      assign man_full = '0;
    end else if (STORED_MAN_BITS == MAN_BITS) begin : g_full_man
      assign man_full = man1;
    end else begin : g_short_man
      assign man_full = {man1, {(MAN_BITS - STORED_MAN_BITS){1'b0}}};
    end
  endgenerate
  assign weight = {sign1, exp1, man_full};

  fp32_widen #(.EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS)) u_widen (.x(weight), .y(fp32));

  always_ff @(posedge clk) begin
    if (!rst_n) m_valid <= 1'b0;
    else if (adv2) m_valid <= v1;
    if (adv2) begin
      m_weight <= weight;
      m_fp32   <= fp32;
      m_last   <= last1;
    end
  end
endmodule
