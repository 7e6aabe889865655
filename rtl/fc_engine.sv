// Fully connected layer engine: y = relu?(b + W x) with P output lanes, in the HLS
// kernel's schedule (pycompress/hw/hls/schedule.py mac_nest): the reduction outermost,
// the G = n_groups outputs of each lane innermost, P lanes side by side. Lane l owns
// outputs l*G .. l*G+G-1; its weights come from its own exponent-sharing (or codebook)
// weight_streamer whose tables hold w[l*G+g][r] at address r*G+g
// (pycompress.hw.layout.lane_split_order, images by pycompress.hw.rtl.images.fc_lane_images).
//
// Each output is one sequential float32 sum, in the numpy reference's order
// (pycompress/hw/hls/reference.py _linear): acc = bias, then acc + x[r]*w[r] for r = 0..
// The bias enters as the first term of the output's sum, bias * 1.0 added to +0
// (exact for every bias except -0, which becomes +0; fpref.FpUnits models it).
// One term a clock per lane goes through fp32_mac_bank (BANK = MAX_G accumulators);
// its rule (terms of one output >= 4 clocks apart) holds for G >= 4.
//
// Interface: pulse `start` with n_in, n_groups, n_lanes (active lanes <= P) and relu;
// the engine takes n_in activations on s_axis into its input buffer (block RAM),
// computes, writes the outputs to the per-lane output buffers, then sends the
// n_lanes*n_groups outputs on m_axis in output order (tlast on the last) and pulses
// `done`. compute_cycles: clocks from the first term to the last result written.
// SUBNORMALS goes to the float units (1: IEEE gradual underflow, 0: flush to zero).
module fc_engine #(
    parameter int P = 4,                  // lanes
    parameter int MAX_IN = 256,           // input buffer depth
    parameter int MAX_G = 16,             // outputs per lane (accumulators, output buffer depth)
    parameter int SUBNORMALS = 1,
    parameter int CLUSTER = 0,
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 7,
    parameter int STORED_MAN_BITS = MAN_BITS,
    parameter int INDEX_BITS = 8,
    parameter int ROM_DEPTH = 1 << INDEX_BITS,
    parameter int DEPTH = MAX_IN * MAX_G,  // weights per lane table
    parameter int SIGN_BLOCK = 1,
    parameter int INDEX_BLOCK = 1,
    parameter int MANTISSA_BLOCK = 1,
    // synthesis: images "<IMAGE_PREFIX>_lNN_{sign,index,mantissa,bias}.mem" and "<IMAGE_PREFIX>_rom.mem";
    // IMAGES = 0: tables only from the plusargs LNN_{SIGN,INDEX,MANTISSA,BIAS}_MEM and ROM_MEM (Verilator)
    parameter int IMAGES = 0,
    parameter IMAGE_PREFIX = "layer",
    localparam int ADDR_BITS = DEPTH > 1 ? $clog2(DEPTH) : 1,
    localparam int IB = $clog2(MAX_IN + 1),
    localparam int XA = MAX_IN > 1 ? $clog2(MAX_IN) : 1,
    localparam int GB = $clog2(MAX_G + 1),
    localparam int SW = MAX_G > 1 ? $clog2(MAX_G) : 1,
    localparam int LB = $clog2(P + 1)
) (
    input  logic          clk,
    input  logic          rst_n,
    input  logic          start,
    input  logic [IB-1:0] n_in,
    input  logic [GB-1:0] n_groups,
    input  logic [LB-1:0] n_lanes,
    input  logic          relu,
    output logic          busy,
    output logic          done,
    output logic [31:0]   compute_cycles,
    input  logic          s_axis_tvalid,
    output logic          s_axis_tready,
    input  logic [31:0]   s_axis_tdata,
    output logic          m_axis_tvalid,
    input  logic          m_axis_tready,
    output logic [31:0]   m_axis_tdata,
    output logic          m_axis_tlast
);
  localparam logic [31:0] ONE = 32'h3f80_0000;

  logic          idle, load, run, drain;  // engine_phases
  logic [IB-1:0] k;        // reduction step: 0 = bias, r + 1 = input r
  logic [SW-1:0] g;        // output group within a lane
  logic [XA-1:0] ld;       // input buffer write address
  logic          fire, last_g, last_k;
  logic [P-1:0]  lane_on, w_valid;
  logic [P*32-1:0] obq_all;
  logic [ADDR_BITS:0] n_weights;

  assign last_g = {{(GB - SW > 0 ? GB - SW : 0){1'b0}}, g} == n_groups - 1'b1;
  assign last_k = k == n_in;
  for (genvar l = 0; l < P; l++) begin : g_on
    assign lane_on[l] = LB'(l) < n_lanes;
  end
  // a term step: every active lane's next weight is there (the bias step needs none)
  assign fire = run && (k == '0 || &(w_valid | ~lane_on));

  // ---- input buffer (block RAM): written from s_axis, read once per step ----
  (* ram_style = "block" *) logic [31:0] xbuf[MAX_IN];
  logic [31:0] xq;
  logic [XA-1:0] x_raddr;
  assign s_axis_tready = load;
  always_comb begin
    if (fire && last_g) x_raddr = XA'(k);  // the next step k + 1 reads input k
    else if (k == '0) x_raddr = '0;
    else x_raddr = XA'(k - 1'b1);
  end
  always_ff @(posedge clk) begin
    if (s_axis_tvalid && s_axis_tready) xbuf[ld] <= s_axis_tdata;
    xq <= xbuf[x_raddr];
  end

  // ---- sequencer ----
  logic [SW-1:0] g_next;
  assign g_next = fire ? (last_g ? '0 : g + 1'b1) : g;
  logic last_out;  // lane 0's last result (all lanes run in lock step)
  engine_phases u_phases (
      .clk(clk), .rst_n(rst_n), .start(start),
      .load_last(s_axis_tvalid && {{(IB > XA ? IB - XA : 0){1'b0}}, ld} == n_in - 1'b1),
      .run_last(fire && last_g && last_k), .last_out(last_out),
      .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready), .m_axis_tlast(m_axis_tlast),
      .idle(idle), .load(load), .run(run), .drain(drain), .busy(busy), .done(done), .compute_cycles(compute_cycles)
  );
  always_ff @(posedge clk) begin
    if (rst_n) begin
      if (idle && start) begin
        ld <= '0;
        k <= '0;
        g <= '0;
        n_weights <= (ADDR_BITS + 1)'(n_in * n_groups);
      end
      if (load && s_axis_tvalid) ld <= ld + 1'b1;
      if (run) begin
        g <= g_next;
        if (fire && last_g) k <= k + 1'b1;
      end
    end
  end

  // ---- drain: output buffers -> m_axis in output order ----
  logic          d_fetch_en;
  logic [SW-1:0] dg;
  lane_drain #(.P(P), .SW(SW), .NB(GB)) u_drain (
      .clk(clk), .rst_n(rst_n), .active(drain), .n_slots(n_groups), .n_lanes(n_lanes),
      .fetch_en(d_fetch_en), .slot(dg), .rd_all(obq_all),
      .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready), .m_axis_tdata(m_axis_tdata),
      .m_axis_tlast(m_axis_tlast)
  );

  // ---- lanes ----
  logic [SW-1:0] out_slot0;
  logic          out_valid0;
  assign last_out = out_valid0 && {{(GB - SW > 0 ? GB - SW : 0){1'b0}}, out_slot0} == n_groups - 1'b1;

  for (genvar l = 0; l < P; l++) begin : g_lane
    logic [31:0] w, bq, sum, y, obq;
    logic ovalid;
    logic [SW-1:0] oslot;
    // the lane's weights, and the bias of the current group read ahead like the input (g_next: the next step's group)
    lane_weights #(
        .LANE(l), .CLUSTER(CLUSTER), .EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS), .STORED_MAN_BITS(STORED_MAN_BITS),
        .INDEX_BITS(INDEX_BITS), .ROM_DEPTH(ROM_DEPTH), .DEPTH(DEPTH), .ADDR_BITS(ADDR_BITS),
        .SIGN_BLOCK(SIGN_BLOCK), .INDEX_BLOCK(INDEX_BLOCK), .MANTISSA_BLOCK(MANTISSA_BLOCK),
        .IMAGES(IMAGES), .IMAGE_PREFIX(IMAGE_PREFIX), .BIAS_DEPTH(MAX_G), .BIAS_ADDR_BITS(SW)
    ) u_lane (
        .clk(clk), .rst_n(rst_n), .start(load && ld == '0 && lane_on[l]), .n_weights(n_weights),
        .m_valid(w_valid[l]), .m_ready(fire && k != '0 && lane_on[l]), .m_fp32(w), .bias_addr(g_next), .bias(bq)
    );

    fp32_mac_bank #(.SUBNORMALS(SUBNORMALS), .BANK(MAX_G)) u_mac (
        .clk(clk), .rst_n(rst_n), .in_valid(fire && lane_on[l]), .in_slot(g), .in_first(k == '0), .in_last(last_k),
        .in_w(k == '0 ? bq : w), .in_x(k == '0 ? ONE : xq), .out_valid(ovalid), .out_slot(oslot), .out_sum(sum)
    );
    // fused ReLU as the reference: x > 0 ? x : +0 (negatives, -0 and NaN give +0)
    assign y = relu && (sum[31] || (sum[30:23] == 8'hff && sum[22:0] != 0)) ? 32'd0 : sum;
    logic [31:0] obuf[MAX_G];
    always_ff @(posedge clk) begin
      if (ovalid) obuf[oslot] <= y;
      if (d_fetch_en) obq <= obuf[dg];
    end
    assign obq_all[l*32+:32] = obq;
    if (l == 0) begin : g_slot0
      assign out_valid0 = ovalid;
      assign out_slot0 = oslot;
    end
  end
endmodule
