// Conv2d layer engine: y = relu?(b + conv(x, W)) with P output-channel lanes, in the
// HLS kernel's schedule (hls_templates/kernel.cpp.j2, pycompress/hw/hls/schedule.py
// mac_nest): the reduction r = (ic, ky, kx) outermost, then the G = OC/P output groups
// of each lane, then the OH x OW pixels, one term a clock per lane. Lane l owns output
// channels l*G .. l*G+G-1; its weights come from its own exponent-sharing (or codebook)
// weight_streamer whose tables hold w[l*G+g][r] at address r*G+g
// (pycompress.hw.layout.lane_split_order, images by pycompress.hw.rtl.images.conv_lane_images).
// A weight is taken from the streamer at the first pixel of its (r, g) and held for the
// other pixels; the input pixel is shared by all lanes.
//
// Each output is one sequential float32 sum in the numpy reference's order
// (pycompress/hw/hls/reference.py _conv): acc = bias, then acc + w*x for r = 0.. in
// (ic, ky, kx) order. The bias is the first term's accumulator value (as the HLS kernel's
// `r == 0 ? bias : out[o]`, no extra pass). A tap in the zero padding adds the product
// -0 * 1 = -0, which leaves every accumulator value unchanged (the reference skips it).
// The accumulators of a lane (G x OH*OW sums, block RAM, fp32_mac_bram) are also its
// output buffer; the last term writes the sum through the fused ReLU.
//
// Interface: pulse `start`; the engine takes IC*IH*IW activations on s_axis in C,H,W
// order into its input buffer (block RAM), computes, then sends the OC*OH*OW outputs on
// m_axis in C,H,W order (tlast on the last) and pulses `done`. compute_cycles: clocks
// from the first term to the last result written. The geometry is fixed at elaboration.
// SUBNORMALS goes to the float units (1: IEEE gradual underflow, 0: flush to zero).
// Needs G*OH*OW >= 6 (fp32_mac_bram's schedule rule) and OC divisible by P.
module conv_engine #(
    parameter int P = 1,                  // lanes (output channels computed side by side)
    parameter int IC = 1,
    parameter int IH = 28,
    parameter int IW = 28,
    parameter int OC = 6,
    parameter int KH = 5,
    parameter int KW = 5,
    parameter int STRIDE = 1,
    parameter int PH = 0,                 // zero padding rows (top and bottom)
    parameter int PW = 0,                 // zero padding columns (left and right)
    parameter int RELU = 0,               // fused ReLU on the outputs
    parameter int SUBNORMALS = 1,
    parameter int CLUSTER = 0,
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 7,
    parameter int STORED_MAN_BITS = MAN_BITS,
    parameter int INDEX_BITS = 8,
    parameter int ROM_DEPTH = 1 << INDEX_BITS,
    parameter int SIGN_BLOCK = 1,
    parameter int INDEX_BLOCK = 1,
    parameter int MANTISSA_BLOCK = 1,
    // synthesis: images "<IMAGE_PREFIX>_lNN_{sign,index,mantissa,bias}.mem" and "<IMAGE_PREFIX>_rom.mem";
    // IMAGES = 0: tables only from the plusargs LNN_{SIGN,INDEX,MANTISSA,BIAS}_MEM and ROM_MEM (Verilator)
    parameter int IMAGES = 0,
    parameter IMAGE_PREFIX = "layer",
    localparam int OH = (IH + 2 * PH - KH) / STRIDE + 1,
    localparam int OW = (IW + 2 * PW - KW) / STRIDE + 1,
    localparam int G = OC / P,
    localparam int PIX = OH * OW,
    localparam int R = IC * KH * KW,
    localparam int N_IN = IC * IH * IW,
    localparam int DEPTH = R * G,         // weights per lane table
    localparam int ACC = G * PIX          // accumulators (outputs) per lane
) (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    output logic        busy,
    output logic        done,
    output logic [31:0] compute_cycles,
    input  logic        s_axis_tvalid,
    output logic        s_axis_tready,
    input  logic [31:0] s_axis_tdata,
    output logic        m_axis_tvalid,
    input  logic        m_axis_tready,
    output logic [31:0] m_axis_tdata,
    output logic        m_axis_tlast
);
  localparam int ADDR_BITS = DEPTH > 1 ? $clog2(DEPTH) : 1;
  localparam int XA = N_IN > 1 ? $clog2(N_IN) : 1;
  localparam int SA = ACC > 1 ? $clog2(ACC) : 1;
  localparam int GA = G > 1 ? $clog2(G) : 1;
  localparam int CW = $clog2(IC + 1), KYW = $clog2(KH + 1), KXW = $clog2(KW + 1);
  localparam int OYW = $clog2(OH + 1), OXW = $clog2(OW + 1);
  localparam bit PADDED = PH != 0 || PW != 0;
  localparam logic [31:0] ONE = 32'h3f80_0000, NEG_ZERO = 32'h8000_0000;

  logic           idle, load, run, drain;  // engine_phases
  logic [CW-1:0]  ic;
  logic [KYW-1:0] ky;
  logic [KXW-1:0] kx;
  logic [GA-1:0]  g;
  logic [OYW-1:0] oy;
  logic [OXW-1:0] ox;
  logic [SA-1:0]  slot;     // g*PIX + oy*OW + ox: the lane's accumulator
  logic [XA-1:0]  ld;       // input buffer write address
  logic           fire, first_pix, last_pix, last_g, first_r, last_r;
  logic [P-1:0]   w_valid;

  assign last_pix = oy == OYW'(OH - 1) && ox == OXW'(OW - 1);
  assign first_pix = oy == '0 && ox == '0;
  assign last_g = g == GA'(G - 1);
  assign first_r = ic == '0 && ky == '0 && kx == '0;
  assign last_r = ic == CW'(IC - 1) && ky == KYW'(KH - 1) && kx == KXW'(KW - 1);
  // a term step: at the first pixel of (r, g) every lane's next weight must be there
  assign fire = run && (!first_pix || &w_valid);

  // ---- input pixel of the current term: iy = oy*STRIDE + ky - PH, ix = ox*STRIDE + kx - PW ----
  int iy, ix;
  logic [XA-1:0] xaddr;
  logic in_image;
  always_comb begin
    iy = int'(oy) * STRIDE + int'(ky) - PH;
    ix = int'(ox) * STRIDE + int'(kx) - PW;
    in_image = !PADDED || (iy >= 0 && iy < IH && ix >= 0 && ix < IW);
    xaddr = XA'((int'(ic) * IH + iy) * IW + ix);
  end

  // ---- input buffer (block RAM): written from s_axis, read once per term ----
  (* ram_style = "block" *) logic [31:0] xbuf[N_IN];
  logic [31:0] xq;
  assign s_axis_tready = load;
  always_ff @(posedge clk) begin
    if (s_axis_tvalid && s_axis_tready) xbuf[ld] <= s_axis_tdata;
    xq <= xbuf[in_image ? xaddr : '0];
  end

  // ---- sequencer: (ic, ky, kx) > g > (oy, ox) ----
  logic last_out;  // lane 0's last result (all lanes run in lock step)
  engine_phases u_phases (
      .clk(clk), .rst_n(rst_n), .start(start), .load_last(s_axis_tvalid && ld == XA'(N_IN - 1)),
      .run_last(fire && last_pix && last_g && last_r), .last_out(last_out),
      .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready), .m_axis_tlast(m_axis_tlast),
      .idle(idle), .load(load), .run(run), .drain(drain), .busy(busy), .done(done), .compute_cycles(compute_cycles)
  );
  always_ff @(posedge clk) begin
    if (rst_n) begin
      if (idle && start) begin
        ld <= '0;
        {ic, ky, kx, g, oy, ox, slot} <= '0;
      end
      if (load && s_axis_tvalid) ld <= ld + 1'b1;
      if (fire) begin
        if (ox != OXW'(OW - 1)) ox <= ox + 1'b1;
        else begin
          ox <= '0;
          oy <= oy == OYW'(OH - 1) ? '0 : oy + 1'b1;
        end
        slot <= last_pix && last_g ? '0 : slot + 1'b1;
        if (last_pix) g <= last_g ? '0 : g + 1'b1;
        if (last_pix && last_g) begin
          if (kx != KXW'(KW - 1)) kx <= kx + 1'b1;
          else begin
            kx <= '0;
            if (ky != KYW'(KH - 1)) ky <= ky + 1'b1;
            else begin
              ky <= '0;
              ic <= ic + 1'b1;
            end
          end
        end
      end
    end
  end

  // ---- stage 1 tags: the term whose input pixel is read this clock ----
  logic          t_valid, t_pad, t_first, t_last;
  logic [SA-1:0] t_slot;
  always_ff @(posedge clk) begin
    t_valid <= rst_n && fire;
    t_pad <= !in_image;
    t_first <= first_r;
    t_last <= last_r;
    t_slot <= slot;
  end

  // ---- drain: accumulator banks -> m_axis in C,H,W order (lane, then slot) ----
  logic          d_fetch_en;
  logic [SA-1:0] ds;
  logic [P*32-1:0] rd_all;
  lane_drain #(.P(P), .SW(SA), .NB($clog2(ACC + 1))) u_drain (
      .clk(clk), .rst_n(rst_n), .active(drain), .n_slots($clog2(ACC + 1)'(ACC)), .n_lanes($clog2(P + 1)'(P)),
      .fetch_en(d_fetch_en), .slot(ds), .rd_all(rd_all),
      .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready), .m_axis_tdata(m_axis_tdata),
      .m_axis_tlast(m_axis_tlast)
  );

  // ---- lanes ----
  logic          out_valid0;
  logic [SA-1:0] out_slot0;
  assign last_out = out_valid0 && out_slot0 == SA'(ACC - 1);

  for (genvar l = 0; l < P; l++) begin : g_lane
    logic ovalid;
    logic [31:0] w, w_hold, bq;
    logic [SA-1:0] oslot;
    // the lane's weights, and the bias of the current group read with the input pixel
    lane_weights #(
        .LANE(l), .CLUSTER(CLUSTER), .EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS), .STORED_MAN_BITS(STORED_MAN_BITS),
        .INDEX_BITS(INDEX_BITS), .ROM_DEPTH(ROM_DEPTH), .DEPTH(DEPTH), .ADDR_BITS(ADDR_BITS),
        .SIGN_BLOCK(SIGN_BLOCK), .INDEX_BLOCK(INDEX_BLOCK), .MANTISSA_BLOCK(MANTISSA_BLOCK),
        .IMAGES(IMAGES), .IMAGE_PREFIX(IMAGE_PREFIX), .BIAS_DEPTH(G), .BIAS_ADDR_BITS(GA)
    ) u_lane (
        .clk(clk), .rst_n(rst_n), .start(idle && start), .n_weights((ADDR_BITS + 1)'(DEPTH)),
        .m_valid(w_valid[l]), .m_ready(fire && first_pix), .m_fp32(w), .bias_addr(g), .bias(bq)
    );
    // the weight of (r, g), taken at its first pixel and held for the others
    always_ff @(posedge clk) if (fire && first_pix) w_hold <= w;

    fp32_mac_bram #(.SUBNORMALS(SUBNORMALS), .DEPTH(ACC), .RELU(RELU)) u_mac (
        .clk(clk), .rst_n(rst_n), .in_valid(t_valid), .in_slot(t_slot), .in_first(t_first), .in_last(t_last),
        .in_init(bq), .in_w(t_pad ? NEG_ZERO : w_hold), .in_x(t_pad ? ONE : xq),
        .out_valid(ovalid), .out_slot(oslot),
        .rd_en(drain && d_fetch_en), .rd_addr(ds), .rd_data(rd_all[l*32+:32])
    );
    if (l == 0) begin : g_slot0
      assign out_valid0 = ovalid;
      assign out_slot0 = oslot;
    end
    logic unused_ok;
    assign unused_ok = ^{ovalid, oslot};
  end
endmodule
