// Average pooling on a stream, same ports and order as maxpool_unit: C x H x W float32
// in, C x OH x OW averages out (tlast on an image's last), K x K windows, stride S, P < K
// rows/columns of zero padding each side (counted: torch's count_include_pad), any overlap.
//
// Bit-exact with pycompress/hw/hls/reference.py _pool: acc = +0, acc = acc + v for the
// window's taps in (ky, kx) order (one sequential float32 sum), then acc * RECIP, RECIP
// the float32 nearest 1/(K*K) (a parameter from the planner). The inputs arrive in
// raster order, which visits every window's taps in (ky, kx) order, so each input is
// added to each window it belongs to (at most R x R, R = ceil(K/S)), into accumulators
// of the R window rows open at once (R x OW words, LUT RAM). A padding tap adds +0,
// which leaves every sum this unit can hold unchanged (a sum that starts at +0 is never
// -0; a NaN stays the same NaN; with SUBNORMALS = 0 a sum is never subnormal), so
// padding adds nothing. pool_window walks past the far padding so that windows close
// in output order; a closing window's sum goes to the multiply.
//
// An input's adds go to different windows: one a clock through the pipelined fp32_add
// (the closing window's first). The next input waits for the last of them (the sums of
// one window depend on each other), and a window's last input for the multiply too:
// with K <= S, an add latency + 1 clocks an input, as before padding and overlap.
module avgpool_unit #(
    parameter int C = 16,
    parameter int H = 4,
    parameter int W = 4,
    parameter int K = 2,
    parameter int S = 2,
    parameter int P = 0,
    parameter logic [31:0] RECIP = 32'h3e80_0000,
    parameter int SUBNORMALS = 1,
    localparam int OH = (H + 2 * P - K) / S + 1,
    localparam int OW = (W + 2 * P - K) / S + 1,
    localparam int R = (K + S - 1) / S,
    localparam int AB = R * OW > 1 ? $clog2(R * OW) : 1
) (
    input  logic        clk,
    input  logic        rst_n,
    output logic        busy,
    input  logic        s_axis_tvalid,
    output logic        s_axis_tready,
    input  logic [31:0] s_axis_tdata,
    output logic        m_axis_tvalid,
    input  logic        m_axis_tready,
    output logic [31:0] m_axis_tdata,
    output logic        m_axis_tlast
);
  localparam int LAT = 7;  // rtl/fp32_add.sv LATENCY

  // ---- the walk (pool_window) runs a position ahead: what a position needs is worked out from its counters and
  // registered as it becomes the current one (`load`), so the adds start from registers ----
  logic [15:0] c, y, x, a, q, qm_unused, b, r, rm;
  logic        n_virt, go, load, primed, pending;

  pool_window #(.C(C), .H(H), .W(W), .K(K), .S(S), .P(P)) u_win (
      .clk(clk), .rst_n(rst_n), .step(load), .virt(n_virt), .c(c), .y(y), .x(x), .a(a), .q(q), .qm(qm_unused),
      .b(b), .r(r), .rm(rm)
  );

  // the next position's windows: columns q - ih for ih in [ih_lo, ih_hi], rows r - iv for iv in [iv_lo, iv_hi]
  logic [15:0] kh, kv, ih_hi, ih_lo, iv_hi, iv_lo, n_ox0, n_oy0, n_nh, n_nv, n_bank0;
  logic [AB-1:0] n_addr0;
  logic        n_member, n_close, n_last, n_first0, n_more0;
  always_comb begin
    kh = '0;  // the taps a + i*S < K: i < kh, a constant for each a < S (a table)
    kv = '0;
    for (int m = 0; m < S; m++) begin
      if (a == 16'(m)) kh = 16'(m < K ? (K - m + S - 1) / S : 0);
      if (b == 16'(m)) kv = 16'(m < K ? (K - m + S - 1) / S : 0);
    end
    ih_hi = kh - 1'b1 < q ? kh - 1'b1 : q;
    iv_hi = kv - 1'b1 < r ? kv - 1'b1 : r;
    ih_lo = q >= 16'(OW) ? q - 16'(OW - 1) : '0;
    iv_lo = r >= 16'(OH) ? r - 16'(OH - 1) : '0;
    n_member = kh != 0 && kv != 0 && ih_hi >= ih_lo && iv_hi >= iv_lo;
    n_nh = ih_hi - ih_lo + 1'b1;
    n_nv = iv_hi - iv_lo + 1'b1;
    n_ox0 = q - ih_hi;  // the first window: the one this position closes, if any
    n_oy0 = r - iv_hi;
    n_bank0 = rm >= iv_hi ? rm - iv_hi : rm + 16'(R) - iv_hi;  // oy0 mod R (iv_hi < R)
    n_addr0 = AB'(n_bank0 * 16'(OW) + n_ox0);
    n_close = n_member && a + ih_hi * 16'(S) == 16'(K - 1) && b + iv_hi * 16'(S) == 16'(K - 1);
    n_last = n_close && c == 16'(C - 1) && n_oy0 == 16'(OH - 1) && n_ox0 == 16'(OW - 1);
    n_first0 = (x == 0 || (a == 0 && n_ox0 == q)) && (y == 0 || (b == 0 && n_oy0 == r));
    n_more0 = n_member && !n_virt && (ih_hi != ih_lo || iv_hi != iv_lo);
  end

  logic        virt, member, close, last, first0, more0, x0, y0, a0, b0;
  logic [15:0] ox0, oy0, nh, nv, bank0, qp, rp;
  logic [AB-1:0] addr0;
  always_ff @(posedge clk) begin
    if (!rst_n) primed <= 1'b0;
    else if (load) primed <= 1'b1;
  end
  always_ff @(posedge clk) begin
    if (load) begin
      {virt, member, close, last, first0, more0} <= {n_virt, n_member, n_close, n_last, n_first0, n_more0};
      {x0, y0, a0, b0, qp, rp} <= {x == 0, y == 0, a == 0, b == 0, q, r};
      {ox0, oy0, nh, nv, bank0, addr0} <= {n_ox0, n_oy0, n_nh, n_nv, n_bank0, n_addr0};
    end
  end

  assign s_axis_tready = primed && !pending && !m_axis_tvalid && !virt;
  assign go = primed && !pending && !m_axis_tvalid && (virt || s_axis_tvalid);
  assign load = go || !primed;

  // ---- the adds: pair 0 in the clock the input is taken, the others from registers, one a clock ----
  logic        issuing, real_q, x0_q, y0_q, a0_q, b0_q;
  logic [15:0] ox_c, oy_c, bank_c, dh, dv, nh_q, nv_q, ox0_q, q_q, r_q;
  logic [AB-1:0] addr_c, row_c;
  logic [31:0] v_q;
  logic [15:0] p_ox, p_oy, p_bank, p_dh, p_nh;
  logic        p_real, p_first, p_issue;
  logic [31:0] p_v;
  logic [AB-1:0] p_addr, p_row;
  logic [31:0] acc[R * OW];

  always_comb begin
    if (issuing) begin
      {p_ox, p_oy, p_bank, p_real, p_v, p_addr, p_row, p_dh, p_nh} = {ox_c, oy_c, bank_c, real_q, v_q, addr_c, row_c,
                                                                       dh, nh_q};
      p_first = (x0_q || (a0_q && ox_c == q_q)) && (y0_q || (b0_q && oy_c == r_q));
    end else begin
      {p_ox, p_oy, p_bank, p_real, p_v, p_addr, p_row, p_dh, p_nh} = {ox0, oy0, bank0, !virt, s_axis_tdata, addr0,
                                                                       addr0, 16'd0, nh};
      p_first = first0;
    end
    p_issue = p_real && (issuing || (go && member));
  end

  logic        add_v, mul_v, mul_in, mul_wait;
  logic [31:0] add_y, mul_y;
  logic [AB-1:0] tag_addr[LAT];
  logic [LAT-1:0] tag_close;
  logic        vclose;  // a closing position past the input: its sum is complete, multiply it (a clock later, from a register)

  logic        vclose_q;
  logic [31:0] vsum_q;
  assign vclose = !issuing && go && close && virt;
  assign mul_in = (add_v && tag_close[LAT-1]) || vclose_q;  // never both: a walked position waits for every add

  fp32_add #(.SUBNORMALS(SUBNORMALS)) u_add (
      .clk(clk), .rst_n(rst_n), .in_valid(p_issue), .a(p_first ? 32'd0 : acc[p_addr]), .b(p_v),
      .out_valid(add_v), .y(add_y)
  );
  fp32_mul #(.SUBNORMALS(SUBNORMALS)) u_mul (
      .clk(clk), .rst_n(rst_n), .in_valid(mul_in), .a(vclose_q ? vsum_q : add_y), .b(RECIP),
      .out_valid(mul_v), .y(mul_y)
  );

  logic last_q, more, adds_flying;
  logic [LAT-2:0] tag_v;
  assign more = issuing ? !(dh == nh_q - 1'b1 && dv == nv_q - 1'b1) : go && more0;
  assign adds_flying = p_issue || tag_v != 0;  // an add not yet written back after this clock

  always_ff @(posedge clk) begin
    tag_addr[0] <= p_addr;
    for (int i = 1; i < LAT; i++) tag_addr[i] <= tag_addr[i-1];
    tag_close <= {tag_close[LAT-2:0], !issuing && close};
    if (add_v) acc[tag_addr[LAT-1]] <= add_y;
    vsum_q <= acc[p_addr];
    if (go) begin
      {x0_q, y0_q, a0_q, b0_q, q_q, r_q} <= {x0, y0, a0, b0, qp, rp};
      {nh_q, nv_q, ox0_q, real_q, v_q} <= {nh, nv, ox0, !virt, s_axis_tdata};
    end
    // the next pair: columns fastest (address + 1), then the next window row (bank + 1 mod R, its row address)
    if (issuing ? more : go) begin
      if (p_dh == p_nh - 1'b1) begin
        dh <= '0;
        dv <= (issuing ? dv : 16'd0) + 1'b1;
        ox_c <= issuing ? ox0_q : ox0;
        oy_c <= p_oy + 1'b1;
        bank_c <= p_bank == 16'(R - 1) ? '0 : p_bank + 1'b1;
        addr_c <= p_bank == 16'(R - 1) ? p_row - AB'((R - 1) * OW) : p_row + AB'(OW);
        row_c <= p_bank == 16'(R - 1) ? p_row - AB'((R - 1) * OW) : p_row + AB'(OW);
      end else begin
        dh <= p_dh + 1'b1;
        dv <= issuing ? dv : 16'd0;
        ox_c <= p_ox + 1'b1;
        oy_c <= p_oy;
        bank_c <= p_bank;
        addr_c <= p_addr + 1'b1;
        row_c <= p_row;
      end
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      tag_v <= '0;
      vclose_q <= 1'b0;
      issuing <= 1'b0;
      pending <= 1'b0;
      mul_wait <= 1'b0;
      busy <= 1'b0;
      m_axis_tvalid <= 1'b0;
      m_axis_tlast <= 1'b0;
    end else begin
      tag_v <= {tag_v[LAT-3:0], p_issue};
      vclose_q <= vclose;
      issuing <= more;
      if (m_axis_tvalid && m_axis_tready) begin
        m_axis_tvalid <= 1'b0;
        if (m_axis_tlast) busy <= 1'b0;
      end
      if (go && !virt) busy <= 1'b1;
      if (go && close) begin
        mul_wait <= 1'b1;
        last_q <= last;
      end
      if (mul_v) begin
        mul_wait <= 1'b0;
        m_axis_tvalid <= 1'b1;
        m_axis_tdata <= mul_y;
        m_axis_tlast <= last_q;
      end
      // an input with windows waits for its adds and, if it closes one, the multiply
      if (go && (member && !virt || close)) pending <= 1'b1;
      else if (pending && !more && !adds_flying && !(mul_wait && !mul_v)) pending <= 1'b0;
    end
  end
endmodule
