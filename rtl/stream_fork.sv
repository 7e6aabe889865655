// One AXI4-Stream in, two out (the fork of a residual connection): every word and its tlast go to both
// outputs, each output taking it in its own cycle. One word is held; the next is taken in the same
// cycle the held one leaves, so a fork whose outputs are both ready passes a word per clock. The
// outputs' valid signals are registered state (never a function of the other output's ready).
module stream_fork (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        s_axis_tvalid,
    output logic        s_axis_tready,
    input  logic [31:0] s_axis_tdata,
    input  logic        s_axis_tlast,
    output logic        a_tvalid,
    input  logic        a_tready,
    output logic [31:0] a_tdata,
    output logic        a_tlast,
    output logic        b_tvalid,
    input  logic        b_tready,
    output logic [31:0] b_tdata,
    output logic        b_tlast
);
  logic        full, a_pend, b_pend, last, leaving;
  logic [31:0] data;

  assign a_tvalid = full && a_pend;
  assign b_tvalid = full && b_pend;
  assign a_tdata = data;
  assign b_tdata = data;
  assign a_tlast = last;
  assign b_tlast = last;
  // the held word leaves once each side has taken it, now or in an earlier cycle
  assign leaving = full && (!a_pend || a_tready) && (!b_pend || b_tready);
  assign s_axis_tready = !full || leaving;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      full <= 1'b0;
      a_pend <= 1'b0;
      b_pend <= 1'b0;
    end else if (s_axis_tvalid && s_axis_tready) begin
      full <= 1'b1;
      a_pend <= 1'b1;
      b_pend <= 1'b1;
    end else if (leaving) begin
      full <= 1'b0;
      a_pend <= 1'b0;
      b_pend <= 1'b0;
    end else begin
      if (a_tvalid && a_tready) a_pend <= 1'b0;
      if (b_tvalid && b_tready) b_pend <= 1'b0;
    end
  end

  always_ff @(posedge clk) begin
    if (s_axis_tvalid && s_axis_tready) begin
      data <= s_axis_tdata;
      last <= s_axis_tlast;
    end
  end
endmodule
