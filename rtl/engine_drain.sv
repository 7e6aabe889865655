// mac_engine's drain: finished bunches -> m_axis in C, H, W order, tlast on an image's last word. A
// bunch is complete DL clocks after its last term fired; two may wait, one per output bank. Reads go to
// every lane's output buffer at once (ob_rd_*); the word of lane (l, x) is picked two clocks later by a
// registered pixel-lane mux, then a registered channel-lane mux, then the fused ReLU, into an 8-word
// FIFO that issue never overfills. An output bank is busy from the pass that claims it until its bunch
// has been read out.
module engine_drain #(
    parameter int PC = 1,
    parameter int PX = 1,
    parameter int PIX = 1,     // output pixels a channel
    parameter int G = 1,       // output channels a lane
    parameter int K = 1,       // bunches
    parameter int DL = 16,     // a term's fire to its sum written
    parameter int RELU = 0,
    localparam int B = G / K,
    localparam int PXN = (PIX + PX - 1) / PX,
    localparam int STEPS = B * PXN,
    localparam int SA = STEPS > 1 ? $clog2(STEPS) : 1
) (
    input  logic               clk,
    input  logic               rst_n,
    input  logic               bunch_done,  // a bunch's last term fired
    input  logic               op,          // the output bank the sequencer writes
    input  logic               img_end,     // with bunch_done: the image's last bunch
    input  logic               op_used,     // a pass claimed bank op
    output logic [1:0]         obuf_busy,
    output logic               pending,     // a finished bunch waits or is being read
    output logic               ob_rd_en,
    output logic               ob_rd_par,
    output logic [SA-1:0]      ob_rd_addr,
    input  logic [PC*PX*32-1:0] rd_all,     // lane (l, x) at [(l*PX + x)*32 +: 32], two clocks after the read
    output logic               m_axis_tvalid,
    input  logic               m_axis_tready,
    output logic [31:0]        m_axis_tdata,
    output logic               m_axis_tlast
);
  localparam int GA = G > 1 ? $clog2(G) : 1;
  localparam int PA = $clog2(PIX + 1);
  localparam int LW = $clog2(PC + 1), PXW = $clog2(PX + 1), JW = $clog2(PXN + 1);
  logic [DL-1:0] dq_v, dq_par, dq_last;
  always_ff @(posedge clk) begin
    if (!rst_n) dq_v <= '0;
    else dq_v <= {dq_v[DL-2:0], bunch_done};
    dq_par <= {dq_par[DL-2:0], op};
    dq_last <= {dq_last[DL-2:0], img_end};
  end
  logic       bq_pop, bq_par, bq_last, bq_space, o_space;
  logic [1:0] bq_count;
  sync_fifo #(.WIDTH(2), .DEPTH(2)) u_bunches (  // at most two: one per output bank
      .clk(clk), .rst_n(rst_n), .s_valid(dq_v[DL-1]), .s_ready(bq_space), .s_data({dq_par[DL-1], dq_last[DL-1]}),
      .m_valid(pending), .m_ready(bq_pop), .m_data({bq_par, bq_last}), .count(bq_count)
  );
  logic [LW-1:0]  dl;
  logic [GA-1:0]  db;
  logic [PA-1:0]  dp;
  logic [PXW-1:0] dx;
  logic [JW-1:0]  dj;
  logic           issue, d_last_word, d_end;
  logic [3:0]     ocount;
  logic [3:0]     dv;  // reads in flight: obuf read (2), lane-mux and channel-mux registers
  assign d_end = dl == LW'(PC - 1) && db == GA'(B - 1) && dp == PA'(PIX - 1);
  assign issue = pending && int'(ocount) + int'(dv[0]) + int'(dv[1]) + int'(dv[2]) + int'(dv[3]) < 8;
  assign bq_pop = issue && d_end;
  assign ob_rd_en = issue;
  assign ob_rd_par = bq_par;
  assign ob_rd_addr = SA'(int'(db) * PXN + int'(dj));
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {dl, db, dp, dx, dj} <= '0;
      dv <= '0;
      obuf_busy <= '0;
    end else begin
      dv <= {dv[2:0], issue};
      if (issue) begin
        if (dp != PA'(PIX - 1)) begin
          dp <= dp + 1'b1;
          if (dx == PXW'(PX - 1)) begin
            dx <= '0;
            dj <= dj + 1'b1;
          end else dx <= dx + 1'b1;
        end else begin
          {dp, dx, dj} <= '0;
          if (db != GA'(B - 1)) db <= db + 1'b1;
          else begin
            db <= '0;
            dl <= dl == LW'(PC - 1) ? '0 : dl + 1'b1;
          end
        end
      end
      for (int i = 0; i < 2; i++) begin
        if (op_used && op == 1'(i)) obuf_busy[i] <= 1'b1;
        else if (bq_pop && bq_par == 1'(i)) obuf_busy[i] <= 1'b0;
      end
    end
  end
  // the word: lane (dl, dx) two clocks after the read; pixel-lane mux, then channel-lane mux, registered
  logic [PXW-1:0] dx1, dx2;
  logic [LW-1:0]  dl1, dl2, dl3;
  logic [3:0]     dlast;
  logic [PC*32-1:0] m1;
  logic [31:0]    m2, y;
  assign d_last_word = bq_last && d_end;
  always_ff @(posedge clk) begin
    {dx1, dx2} <= {dx, dx1};
    {dl1, dl2, dl3} <= {dl, dl1, dl2};
    dlast <= {dlast[2:0], d_last_word};
    for (int l = 0; l < PC; l++) m1[l*32+:32] <= rd_all[(l*PX+32'(dx2))*32+:32];
    m2 <= m1[32'(dl3)*32+:32];
  end
  // the fused ReLU, once for all lanes, as the reference: y > 0 ? y : +0 (negatives, -0 and NaN give +0)
  assign y = RELU != 0 && (m2[31] || (m2[30:23] == 8'hff && m2[22:0] != 0)) ? 32'd0 : m2;
  sync_fifo #(.WIDTH(33), .DEPTH(8)) u_out (
      .clk(clk), .rst_n(rst_n), .s_valid(dv[3]), .s_ready(o_space), .s_data({dlast[3], y}),
      .m_valid(m_axis_tvalid), .m_ready(m_axis_tready), .m_data({m_axis_tlast, m_axis_tdata}), .count(ocount)
  );
  logic unused_ok;
  assign unused_ok = ^{bq_space, bq_count, o_space};
endmodule
