// Sends P lanes' output buffers on m_axis, lane by lane: lane 0's slots 0 .. n_slots-1,
// then lane 1's, .. up to lane n_lanes-1, tlast on the last word. Each lane's buffer has a
// registered read port: it reads address `slot` when `fetch_en` is high and presents the
// word on its 32 bits of rd_all the next clock. The word goes through a skid buffer, so
// m_axis_tready never reaches the buffers combinationally. Counters and skid buffer are
// held in reset while `active` is low (the engine's DRAIN state). Shared by fc_engine
// (n_slots, n_lanes from ports) and conv_engine (constants).
module lane_drain #(
    parameter int P = 1,                  // lanes
    parameter int SW = 1,                 // slot address bits
    parameter int NB = SW + 1,            // bits of n_slots (>= SW)
    localparam int LB = $clog2(P + 1)
) (
    input  logic          clk,
    input  logic          rst_n,
    input  logic          active,
    input  logic [NB-1:0] n_slots,        // words per lane (>= 1)
    input  logic [LB-1:0] n_lanes,        // lanes sent (1 .. P)
    output logic          fetch_en,       // the lanes' read enable
    output logic [SW-1:0] slot,           // the lanes' read address
    input  logic [P*32-1:0] rd_all,       // lane l's word at [l*32 +: 32], one clock after fetch_en
    output logic          m_axis_tvalid,
    input  logic          m_axis_tready,
    output logic [31:0]   m_axis_tdata,
    output logic          m_axis_tlast
);
  logic          issue, fv, last_q, all_sent, sk_ready, last_slot, last;
  logic [LB-1:0] lane, lane_q;
  assign fetch_en = !fv || sk_ready;
  assign issue = active && !all_sent && fetch_en;
  assign last_slot = {{(NB - SW > 0 ? NB - SW : 0){1'b0}}, slot} == n_slots - 1'b1;
  assign last = lane == n_lanes - 1'b1 && last_slot;
  always_ff @(posedge clk) begin
    if (!rst_n || !active) begin
      fv <= 1'b0;
      all_sent <= 1'b0;
      slot <= '0;
      lane <= '0;
    end else begin
      if (fetch_en) begin
        fv <= issue;
        last_q <= last;
        lane_q <= lane;
      end
      if (issue) begin
        if (last) all_sent <= 1'b1;
        if (last_slot) begin
          slot <= '0;
          lane <= lane + 1'b1;
        end else slot <= slot + 1'b1;
      end
    end
  end
  logic [31:0] data;
  always_comb begin
    data = rd_all[31:0];
    for (int l = 0; l < P; l++) if (lane_q == LB'(l)) data = rd_all[l*32+:32];
  end
  skid_buffer #(.WIDTH(33)) u_out (
      .clk(clk), .rst_n(rst_n && active),
      .s_valid(fv), .s_ready(sk_ready), .s_data({last_q, data}),
      .m_valid(m_axis_tvalid), .m_ready(m_axis_tready), .m_data({m_axis_tlast, m_axis_tdata})
  );
endmodule
