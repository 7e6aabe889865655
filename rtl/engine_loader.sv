// mac_engine's loader: s_axis -> fp32_unpack -> one write a clock into the input buffer copies (the
// engine keeps them), two banks so an image loads while the previous one is computed. It counts, per
// bank, the channels and the rows of the channel being loaded that are in, so the sequencer may start a
// pass once the rows it reads have arrived (mac_engine in_ok). A bank is busy from its image's first
// word until the sequencer releases it (rel).
module engine_loader #(
    parameter int IC = 1,
    parameter int IH = 28,
    parameter int IW = 28,
    parameter int SUBNORMALS = 1,
    localparam int N_IN = IC * IH * IW,
    localparam int XA = N_IN > 1 ? $clog2(N_IN) : 1,
    localparam int CW = $clog2(IC + 1),
    localparam int RW = $clog2(IH + 1)
) (
    input  logic          clk,
    input  logic          rst_n,
    input  logic          s_axis_tvalid,
    output logic          s_axis_tready,
    input  logic [31:0]   s_axis_tdata,
    input  logic [1:0]    rel,         // the sequencer is done with bank i
    output logic          loading,     // an image is part-way in
    output logic [1:0]    bank_busy,
    output logic          ld_v,        // write ld_d at {ld_bank, ld_a}
    output logic          ld_bank,
    output logic [XA-1:0] ld_a,
    output logic [35:0]   ld_d,
    output logic [CW-1:0] ch_loaded0,  // whole channels in, bank 0 / 1
    output logic [CW-1:0] ch_loaded1,
    output logic [RW-1:0] rows0,       // rows of the channel being loaded that are in, bank 0 / 1
    output logic [RW-1:0] rows1
);
  localparam int CHW = $clog2(IH * IW + 1);
  localparam int CWW = $clog2(IW + 1);
  logic           wb, beat, lfirst, ld_ch_end, ld_row_end;
  logic [XA-1:0]  lcount;
  logic [CHW-1:0] lch;
  logic [CWW-1:0] lcol;
  logic [35:0]    ld_u;
  fp32_unpack #(.SUBNORMALS(SUBNORMALS)) u_unpack (.x(s_axis_tdata), .u(ld_u));
  assign s_axis_tready = rst_n && (loading || !bank_busy[wb]);
  assign beat = s_axis_tvalid && s_axis_tready;
  assign lfirst = beat && !loading;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {wb, loading, ld_v} <= '0;
      lcount <= '0;
      lch <= '0;
      lcol <= '0;
      rows0 <= '0;
      rows1 <= '0;
      bank_busy <= '0;
      ch_loaded0 <= '0;
      ch_loaded1 <= '0;
    end else begin
      ld_v <= beat;
      if (beat) begin
        loading <= lcount != XA'(N_IN - 1);
        lcount <= lcount == XA'(N_IN - 1) ? '0 : lcount + 1'b1;
        lch <= lch == CHW'(IH * IW - 1) ? '0 : lch + 1'b1;
        lcol <= lcol == CWW'(IW - 1) ? '0 : lcol + 1'b1;
        if (lcount == XA'(N_IN - 1)) wb <= !wb;
      end
      if (ld_v && ld_ch_end && !ld_bank) ch_loaded0 <= ch_loaded0 + 1'b1;
      if (ld_v && ld_ch_end && ld_bank) ch_loaded1 <= ch_loaded1 + 1'b1;
      if (ld_v && ld_row_end && !ld_bank) rows0 <= ld_ch_end ? '0 : rows0 + 1'b1;
      if (ld_v && ld_row_end && ld_bank) rows1 <= ld_ch_end ? '0 : rows1 + 1'b1;
      if (lfirst && !wb) {ch_loaded0, rows0} <= '0;
      if (lfirst && wb) {ch_loaded1, rows1} <= '0;
      for (int i = 0; i < 2; i++) begin
        if (lfirst && wb == 1'(i)) bank_busy[i] <= 1'b1;
        else if (rel[i]) bank_busy[i] <= 1'b0;
      end
    end
    ld_a <= lcount;
    ld_d <= ld_u;
    ld_bank <= wb;
    ld_ch_end <= lch == CHW'(IH * IW - 1);
    ld_row_end <= lcol == CWW'(IW - 1);
  end
endmodule
