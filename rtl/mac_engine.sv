// A convolution or fully connected layer (a Linear is a 1x1 convolution of a 1x1 image with IC =
// inputs): y = relu?(b + conv(x, W)), PC channel lanes x PX pixel lanes, one term a clock a lane.
// Load, compute and drain run at the same time on different images (two input banks, two
// output banks), so an image can enter while the previous one is computed and the one before
// leaves.
//
// Schedule (per image): for bunch k < K, for r = (ic, ky, kx), for b < B = G/K (G = OC/PC), for
// pixel slot j < PXN: lane (l, x) computes the term of output channel c = k*PC*B + l*B + b at
// pixel p = j*PX + x. Each output is one sequential float32 sum in (ic, ky, kx) order starting
// from the bias (pycompress/hw/hls/reference.py _conv/_linear, pycompress.hw.fpref.FpUnits).
// K = 1 is input-ordered: a term fires as soon as the input rows its pass reads are loaded, so the engine
// computes while its input still arrives, and its outputs are all ready at the end. K > 1 is
// output-ordered: every bunch needs the whole input, and the bunch's PC*B channels leave while
// the next bunch is computed. INNER = 1 (K > 1) puts the bunches inside the input-channel loop:
// for ic, for k, for (ky, kx), for b, for j; the engine computes while its input arrives, as K = 1,
// and in the last input channel bunch k is complete after its own passes, so it leaves while the
// later bunches finish (the accumulators keep all K bunches, at slot k * 2^SA + b*PXN + j; the
// output buffer takes a bunch). A pass of (k, r) has max(B*PXN, SPACING) steps: an accumulator is
// revisited at least SPACING clocks later (mac_lane's rule), idle steps pad short passes.
// A padded tap adds -0 * 1 = -0, which leaves every sum unchanged (the reference skips it).
//
// Weights: lane l's codes in its consumption order (k, r, b) from its lane_wsrc, fetched at the
// first pixel slot of (k, r, b) and held for the others; biases: a G-entry table per lane.
// Images (IMAGE_PREFIX): "<prefix>_lNN_code.mem", "<prefix>_lNN_bias.mem", "<prefix>_rom.mem"
// (pycompress/hw/rtl/images.py). Activations are unpacked once as they are loaded (engine_loader.sv)
// and kept in PX copies of the input buffer (one read a clock each), 36 bits a word.
// Outputs leave on m_axis in C, H, W order, tlast on an image's last one (engine_drain.sv). This file
// keeps the sequencer, the pixel lanes' addressing and the channel lanes. compute_cycles: the
// latest image's first term to its last result written.
module mac_engine #(
    parameter int IC = 1,
    parameter int IH = 28,
    parameter int IW = 28,
    parameter int OC = 6,
    parameter int KH = 5,
    parameter int KW = 5,
    parameter int STRIDE = 1,
    parameter int PH = 0,
    parameter int PW = 0,
    parameter int RELU = 0,
    parameter int PC = 1,
    parameter int PX = 1,
    parameter int K = 1,
    parameter int INNER = 0,
    parameter int SUBNORMALS = 1,
    parameter int WB = 24,
    parameter int CLUSTER = 0,
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 7,
    parameter int STORED_MAN_BITS = MAN_BITS,
    parameter int INDEX_BITS = 8,
    parameter int ROM_DEPTH = 1 << INDEX_BITS,
    parameter int CODE_BITS = 16,
    parameter int PACKED = 0,
    parameter int WORD_BITS = 18,
    parameter int WORDS = 1,
    // entropy-coded lanes (lane_hsrc): symbol head and rest bits, the longest code, symbols, words of each lane
    parameter int HUFFMAN = 0,
    parameter int HEAD = 0,
    parameter int REST = 7,
    parameter int HL = 1,
    parameter int NSYM = 1,
    parameter logic [32*64-1:0] LANE_WORDS = '0,  // lane l's stream words at [l*32 +: 32] (up to 64 lanes)
    parameter int ACC_BLOCK = 0,   // mac_lane memory styles (pycompress.hw.plan.cost_rtl)
    parameter int OBUF_BLOCK = 0,
    parameter IMAGE_PREFIX = "",  // "": no images (a module elaborated on its own)
    localparam int OH = (IH + 2 * PH - KH) / STRIDE + 1,
    localparam int OW = (IW + 2 * PW - KW) / STRIDE + 1,
    localparam int PIX = OH * OW,
    localparam int G = OC / PC,
    localparam int B = G / K,
    localparam int PXN = (PIX + PX - 1) / PX,
    localparam int R = IC * KH * KW,
    localparam int N_IN = IC * IH * IW,
    localparam int SPACING = 10,  // mac_lane: fp32_add LATENCY + 3
    localparam int STEPS = B * PXN,
    localparam int TSTEPS = STEPS > SPACING ? STEPS : SPACING
) (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        s_axis_tvalid,
    output logic        s_axis_tready,
    input  logic [31:0] s_axis_tdata,
    output logic        m_axis_tvalid,
    input  logic        m_axis_tready,
    output logic [31:0] m_axis_tdata,
    output logic        m_axis_tlast,
    output logic        busy,
    output logic [31:0] compute_cycles
);
  localparam int XA = N_IN > 1 ? $clog2(N_IN) : 1;
  localparam int SA = STEPS > 1 ? $clog2(STEPS) : 1;
  localparam int KA = K > 1 ? $clog2(K) : 1;
  localparam int SAA = INNER != 0 ? SA + KA : SA;  // accumulator slot bits
  localparam int ACC_SLOTS = INNER != 0 ? K << SA : STEPS;
  localparam int TA = $clog2(TSTEPS + 1);
  localparam int GA = G > 1 ? $clog2(G) : 1;
  localparam int CW = $clog2(IC + 1);
  localparam int RW = $clog2(IH + 1);
  localparam int PA = $clog2(PIX + 1);
  localparam bit PADDED = PH != 0 || PW != 0;
  localparam int DL = 3 + 5 + 7 + 1;  // fire -> the term's sum written (issue, input read, multiply, add)
  localparam logic [35:0] ONE_U = 36'h0_0000_0000;            // +1.0 unpacked (finite, exponent 0)
  localparam logic [35:0] NEG_ZERO_U = {2'd1, 1'b1, 33'd0};  // -0 unpacked

  // ================= loader (engine_loader): s_axis -> unpack -> the input-buffer copies, two banks =========
  logic           lact, ld_v, ld_bank;
  logic [XA-1:0]  ld_a;
  logic [35:0]    ld_d;
  logic [1:0]     bank_busy, rel;
  logic [CW-1:0]  ch_loaded0, ch_loaded1;
  logic [RW-1:0]  rows0, rows1;
  engine_loader #(.IC(IC), .IH(IH), .IW(IW), .SUBNORMALS(SUBNORMALS)) u_load (
      .clk(clk), .rst_n(rst_n), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
      .s_axis_tdata(s_axis_tdata), .rel(rel), .loading(lact), .bank_busy(bank_busy), .ld_v(ld_v),
      .ld_bank(ld_bank), .ld_a(ld_a), .ld_d(ld_d), .ch_loaded0(ch_loaded0), .ch_loaded1(ch_loaded1),
      .rows0(rows0), .rows1(rows1)
  );

  // ================= sequencer =================
  logic            rb, active, fire, need_w, bunch_start, in_ok, all_w, last_r, first_r, img_end, bunch_end, claim;
  logic            op, op_used;
  logic [1:0]      obuf_busy;
  logic [CW-1:0]   ic;
  logic [$clog2(KH + 1)-1:0] ky;
  logic [$clog2(KW + 1)-1:0] kx;
  logic [TA-1:0]   t;
  logic [GA-1:0]   b, k;
  logic [$clog2(PXN + 1)-1:0] j;
  logic [PC-1:0]   w_valid;
  logic signed [XA+2:0] tap;  // ic*IH*IW + (ky - PH)*IW + (kx - PW)
  logic [31:0]     cyc, t0;
  assign first_r = ic == '0 && ky == '0 && kx == '0;
  assign last_r = ic == CW'(IC - 1) && ky == ($clog2(KH + 1))'(KH - 1) && kx == ($clog2(KW + 1))'(KW - 1);
  assign need_w = j == '0 && t < TA'(STEPS);
  assign bunch_start = first_r && t == '0;
  assign bunch_end = last_r && t == TA'(TSTEPS - 1);
  assign img_end = bunch_end && k == GA'(K - 1);
  // a pass of (ic, ky, kx) reads input rows up to (OH - 1) * STRIDE + ky - PH of channel ic: it may start once
  // those are in, before the rest of the channel
  logic [CW-1:0] ch_in;
  logic [RW-1:0] rows_in;
  int            need_row;
  assign ch_in = rb ? ch_loaded1 : ch_loaded0;
  assign rows_in = rb ? rows1 : rows0;
  always_comb begin
    need_row = (OH - 1) * STRIDE - PH + int'(ky);
    if (need_row > IH - 1) need_row = IH - 1;
    if (need_row < 0) need_row = 0;
  end
  assign in_ok = ch_in > ic || (ch_in == ic && int'(rows_in) > need_row);
  assign all_w = &w_valid;
  // an output bank is claimed by the first pass that writes it: a bunch's first (its last with INNER)
  assign claim = INNER != 0 ? last_r && t == '0 : bunch_start;
  assign fire = active && in_ok && (!need_w || all_w) && (!claim || !obuf_busy[op]);
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {rb, active, op} <= '0;
      {ic, ky, kx, t, b, k, j} <= '0;
      tap <= -(XA+3)'(PH * IW + PW);
      rel <= '0;
      cyc <= '0;
      compute_cycles <= '0;
    end else begin
      cyc <= cyc + 1'b1;
      rel <= '0;
      if (!active && bank_busy[rb]) active <= 1'b1;
      if (fire) begin
        if (bunch_start && k == '0) t0 <= cyc;
        if (t == TA'(TSTEPS - 1)) begin
          {t, b, j} <= '0;
          if (bunch_end) op <= !op;
          if (kx != ($clog2(KW + 1))'(KW - 1)) begin
            kx <= kx + 1'b1;
            tap <= tap + 1'b1;
          end else begin
            kx <= '0;
            if (ky != ($clog2(KH + 1))'(KH - 1)) begin
              ky <= ky + 1'b1;
              tap <= tap + (XA+3)'(IW - (KW - 1));
            end else begin
              ky <= '0;
              if (INNER != 0 && k != GA'(K - 1)) begin  // the next bunch, the same input channel
                k <= k + 1'b1;
                tap <= tap - (XA+3)'((KH - 1) * IW + (KW - 1));
              end else if (ic != CW'(IC - 1)) begin
                ic <= ic + 1'b1;
                if (INNER != 0) k <= '0;
                tap <= tap + (XA+3)'(IH * IW - (KH - 1) * IW - (KW - 1));
              end else begin
                ic <= '0;
                tap <= -(XA+3)'(PH * IW + PW);
                if (INNER == 0 && k != GA'(K - 1)) k <= k + 1'b1;
                else begin
                  k <= '0;
                  active <= 1'b0;
                  rb <= !rb;
                  compute_cycles <= cyc - t0 + 32'(DL);
                end
              end
            end
          end
        end else begin
          t <= t + 1'b1;
          if (j == ($clog2(PXN + 1))'(PXN - 1)) begin
            j <= '0;
            b <= b + 1'b1;
          end else j <= j + 1'b1;
        end
      end
      if (rel_q[1]) rel[rel_bank_q] <= 1'b1;
    end
  end
  // release the input bank once the image's last reads are done (two clocks after its last term)
  logic [1:0] rel_q;
  logic       rel_bank_q;
  always_ff @(posedge clk) begin
    if (!rst_n) rel_q <= '0;
    else rel_q <= {rel_q[0], fire && img_end};
    if (fire && img_end) rel_bank_q <= rb;
  end
  assign op_used = fire && claim;

  // ---- term tags, stage B (the fire clock registered) ... stage D (mac lane inputs) ----
  logic          vB, vC, vD, firstB, firstC, firstD, lastB, lastC, lastD, parB, parC, parD;
  logic [SAA-1:0] slotB, slotC, slotD;
  always_ff @(posedge clk) begin
    if (!rst_n) {vB, vC, vD} <= '0;
    else {vB, vC, vD} <= {fire && t < TA'(STEPS), vB, vC};
    {slotB, firstB, lastB, parB} <= {INNER != 0 ? SAA'(int'(k) * (1 << SA) + int'(t)) : SAA'(t), first_r, last_r, op};
    {slotC, firstC, lastC, parC} <= {slotB, firstB, lastB, parB};
    {slotD, firstD, lastD, parD} <= {slotC, firstC, lastC, parC};
  end

  // ---- pixel lanes: the pixel of slot j, its input address and padding, the input read ----
  logic [PX*36-1:0] xD;  // pixel lane x at [x*36 +: 36]
  logic [PX-1:0] padD, pvD;
  logic last_j;
  assign last_j = t == TA'(TSTEPS - 1) || j == ($clog2(PXN + 1))'(PXN - 1);
  localparam int AW2 = XA + 3;  // signed address arithmetic
  for (genvar x = 0; x < PX; x++) begin : g_px
    localparam int OY0 = x / OW, OX0 = x % OW, DY = PX / OW, DX = PX % OW;
    logic signed [15:0] oys, oxs;  // oy*STRIDE, ox*STRIDE of pixel j*PX + x
    logic signed [AW2-1:0] pb;     // oy*STRIDE*IW + ox*STRIDE
    logic [PA-1:0] p;
    logic signed [15:0] iy, ix;
    /* verilator lint_off UNUSEDSIGNAL */
    logic signed [AW2-1:0] a;  // in range for every tap inside the image
    /* verilator lint_on UNUSEDSIGNAL */
    logic padA, padB2, padC, pvB, pvC;
    logic [XA-1:0] addrB;
    always_ff @(posedge clk) begin
      if (!rst_n || (fire && last_j)) begin
        oys <= 16'(OY0 * STRIDE);
        oxs <= 16'(OX0 * STRIDE);
        pb <= AW2'(OY0 * STRIDE * IW + OX0 * STRIDE);
        p <= PA'(x);
      end else if (fire) begin
        p <= p + PA'(PX);
        if (oxs + 16'(DX * STRIDE) >= 16'(OW * STRIDE)) begin
          oxs <= oxs + 16'(DX * STRIDE) - 16'(OW * STRIDE);
          oys <= oys + 16'((DY + 1) * STRIDE);
          pb <= pb + AW2'((DY + 1) * STRIDE * IW + DX * STRIDE - OW * STRIDE);
        end else begin
          oxs <= oxs + 16'(DX * STRIDE);
          oys <= oys + 16'(DY * STRIDE);
          pb <= pb + AW2'(DY * STRIDE * IW + DX * STRIDE);
        end
      end
    end
    always_comb begin
      iy = oys + 16'(ky) - 16'(PH);
      ix = oxs + 16'(kx) - 16'(PW);
      padA = PADDED && (iy < 0 || iy >= 16'(IH) || ix < 0 || ix >= 16'(IW));
      a = pb + tap;
    end
    always_ff @(posedge clk) begin
      addrB <= padA ? '0 : XA'(a);
      padB2 <= padA;
      pvB <= p < PA'(PIX);
      {padC, pvC} <= {padB2, pvB};
      {padD[x], pvD[x]} <= {padC, pvC};
    end
    // the copy of the input buffer this pixel lane reads: {bank, address}, registered read + output register
    (* ram_style = "block" *) logic [35:0] xbuf[2 << XA];
    logic [35:0] xq1;
    always_ff @(posedge clk) begin
      if (ld_v) xbuf[{ld_bank, ld_a}] <= ld_d;
      xq1 <= xbuf[{rb_B, addrB}];
      xD[x*36+:36] <= xq1;
    end
  end
  logic rb_B;
  always_ff @(posedge clk) rb_B <= rb;

  // ---- the lanes' shared control (mac_ctl), then per channel lane its weights, bias and PX MAC lanes ----
  logic          c_rd_en, c_p_first, c_wr_en, c_wr_last, c_wr_par;
  logic [SAA-1:0] c_rd_slot, c_wr_slot;
  logic [31:0]   c_p_init_unused;
  mac_ctl #(.SA(SAA)) u_ctl (
      .clk(clk), .rst_n(rst_n), .in_valid(vD), .in_slot(slotD), .in_first(firstD), .in_last(lastD), .in_par(parD),
      .in_init(32'd0), .rd_en(c_rd_en), .rd_slot(c_rd_slot), .p_first(c_p_first), .p_init(c_p_init_unused),
      .wr_en(c_wr_en), .wr_slot(c_wr_slot), .wr_last(c_wr_last), .wr_par(c_wr_par)
  );
  logic [PC*PX*32-1:0] rd_all;  // lane (l, x) at [(l*PX + x)*32 +: 32]
  logic d_rd_en, d_rd_par;
  logic [SA-1:0] d_rd_addr;
  for (genvar l = 0; l < PC; l++) begin : g_ch
    localparam logic [15:0] LN = {8'(48 + l / 10), 8'(48 + l % 10)};
    logic [35:0] w_src, w_hold, wB, wC, wD;
    logic [31:0] biasB, biasC, biasD, bias_p;  // bias_p: with the product, 5 clocks after D
    if (HUFFMAN != 0) begin : g_huff
      lane_hsrc #(
          .SUBNORMALS(SUBNORMALS), .WB(WB), .EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS), .HEAD(HEAD), .REST(REST),
          .L(HL), .NSYM(NSYM), .DEPTH(R * G), .WORDS(int'(LANE_WORDS[l*32+:32])),
          .CODE_FILE(IMAGE_PREFIX != "" ? {IMAGE_PREFIX, "_l", LN, "_code.mem"} : ""),
          .LIMIT_FILE(IMAGE_PREFIX != "" ? {IMAGE_PREFIX, "_hlimit.mem"} : ""),
          .BASE_FILE(IMAGE_PREFIX != "" ? {IMAGE_PREFIX, "_hbase.mem"} : ""),
          .SYM_FILE(IMAGE_PREFIX != "" ? {IMAGE_PREFIX, "_hsym.mem"} : "")
      ) u_w (
          .clk(clk), .rst_n(rst_n), .m_valid(w_valid[l]), .m_ready(fire && need_w), .m_w(w_src)
      );
    end else begin : g_codes
      lane_wsrc #(
          .SUBNORMALS(SUBNORMALS), .WB(WB), .CLUSTER(CLUSTER), .EXP_BITS(EXP_BITS), .MAN_BITS(MAN_BITS),
          .STORED_MAN_BITS(STORED_MAN_BITS), .INDEX_BITS(INDEX_BITS), .ROM_DEPTH(ROM_DEPTH), .CODE_BITS(CODE_BITS),
          .DEPTH(R * G), .PACKED(PACKED), .WORD_BITS(WORD_BITS), .WORDS(WORDS),
          .CODE_FILE(IMAGE_PREFIX != "" ? {IMAGE_PREFIX, "_l", LN, "_code.mem"} : ""),
          .ROM_FILE(IMAGE_PREFIX != "" ? {IMAGE_PREFIX, "_rom.mem"} : "")
      ) u_w (
          .clk(clk), .rst_n(rst_n), .m_valid(w_valid[l]), .m_ready(fire && need_w), .m_w(w_src)
      );
    end
    logic [31:0] bias_rom[G];
    initial if (IMAGE_PREFIX != "") $readmemh({IMAGE_PREFIX, "_l", LN, "_bias.mem"}, bias_rom);
    always_ff @(posedge clk) begin
      if (fire && need_w) w_hold <= w_src;
      wB <= need_w ? w_src : w_hold;
      {wC, wD} <= {wB, wC};
      biasB <= bias_rom[GA'(int'(k) * B + int'(b))];
      {biasC, biasD} <= {biasB, biasC};
    end
    logic [31:0] bias_d[4];
    always_ff @(posedge clk) begin
      bias_d[0] <= biasD;
      for (int i = 1; i < 4; i++) bias_d[i] <= bias_d[i-1];
      bias_p <= bias_d[3];
    end
    for (genvar x = 0; x < PX; x++) begin : g_lane
      logic [31:0]   osum;
      mac_lane #(.SUBNORMALS(SUBNORMALS), .WB(WB), .SLOTS(ACC_SLOTS), .OBUF_SLOTS(STEPS), .ACC_BLOCK(ACC_BLOCK),
                 .OBUF_BLOCK(OBUF_BLOCK)) u_mac (
          .clk(clk), .rst_n(rst_n), .in_valid(vD && pvD[x]), .in_w(padD[x] ? NEG_ZERO_U : wD),
          .in_x(padD[x] ? ONE_U : xD[x*36+:36]), .rd_en(c_rd_en), .rd_slot(c_rd_slot), .p_first(c_p_first),
          .p_init(bias_p), .wr_en(c_wr_en), .wr_slot(c_wr_slot), .wr_last(c_wr_last), .wr_par(c_wr_par),
          .out_sum(osum), .ob_rd_en(d_rd_en), .ob_rd_par(d_rd_par), .ob_rd_addr(d_rd_addr),
          .rd_data(rd_all[(l*PX+x)*32+:32])
      );
      logic unused_ok;
      assign unused_ok = ^osum;
    end
  end

  // ================= drain (engine_drain): finished bunches -> m_axis in C, H, W order =================
  logic bq_valid;
  engine_drain #(.PC(PC), .PX(PX), .PIX(PIX), .G(G), .K(K), .DL(DL), .RELU(RELU)) u_drain (
      .clk(clk), .rst_n(rst_n), .bunch_done(fire && bunch_end), .op(op), .img_end(img_end), .op_used(op_used),
      .obuf_busy(obuf_busy), .pending(bq_valid), .ob_rd_en(d_rd_en), .ob_rd_par(d_rd_par), .ob_rd_addr(d_rd_addr),
      .rd_all(rd_all), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready), .m_axis_tdata(m_axis_tdata),
      .m_axis_tlast(m_axis_tlast)
  );

  assign busy = active || lact || bq_valid || obuf_busy != '0;
  logic unused_ok;
  assign unused_ok = ^c_p_init_unused;
endmodule
