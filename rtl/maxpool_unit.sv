// Max pooling on a stream: C x H x W float32 activations in (C, H, W order, one a
// clock on s_axis), C x OH x OW maxima out on m_axis in the same order, tlast on an
// image's last output. K x K windows, stride S, P < K rows/columns of padding on each
// side: any overlap (K > S), and the rows and columns past the last whole window are
// read and dropped (PyTorch's floor mode).
//
// Bit-exact with pycompress/hw/hls/reference.py _pool: acc = the window's first value
// (P = 0) or -inf (P > 0), then acc = (v > acc) ? v : acc over the taps inside the
// input in (ky, kx) order, an IEEE compare: a NaN never wins, -0 and +0 are equal (the
// first stays), padding never wins. That is the first tap, in (ky, kx) order, equal to
// the window's largest non-NaN value (-inf if none), except that with P = 0 a NaN first
// tap stays. So it is separable: each window row's maximum (-inf start) is taken as the
// row streams in, in R = ceil(K/S) registers (a column is in at most R windows); each
// closing row maximum updates, at its output column, the R window rows it belongs to
// (R banks of OW accumulators: LUT RAM), and the window's last row sends the result.
// A window row carries its first tap as well, for the P = 0 NaN rule.
//
// One input a clock: a window that ends in the right/bottom padding is closed at its own
// last (padding) position, so the unit walks (pool_window) XV columns past each row and
// YV rows past each channel without input (s_axis waits); both are 0 when no window
// reaches the far padding (K <= S with P = 0, or (3, 2, 1) on an even size). Two register stages:
// the row maxima (R compares), then the window accumulators (one compare a bank) and the
// output register; everything waits while the output register is full and m_axis is not
// ready.
module maxpool_unit #(
    parameter int C = 6,
    parameter int H = 24,
    parameter int W = 24,
    parameter int K = 2,
    parameter int S = 2,
    parameter int P = 0,
    localparam int OH = (H + 2 * P - K) / S + 1,
    localparam int OW = (W + 2 * P - K) / S + 1,
    localparam int R = (K + S - 1) / S,
    localparam int XV = (OW - 1) * S + K - P > W ? (OW - 1) * S + K - P - W : 0,  // as pool_window
    localparam int OWB = OW > 1 ? $clog2(OW) : 1
) (
    input  logic        clk,
    input  logic        rst_n,
    output logic        busy,  // inside an image (between its first input and its last output)
    input  logic        s_axis_tvalid,
    output logic        s_axis_tready,
    input  logic [31:0] s_axis_tdata,
    output logic        m_axis_tvalid,
    input  logic        m_axis_tready,
    output logic [31:0] m_axis_tdata,
    output logic        m_axis_tlast
);
  localparam logic [31:0] NEG_INF = 32'hff80_0000;

  // a > b as IEEE floats: false with a NaN, false for two zeros of any sign
  function automatic logic fgt(input logic [31:0] a, input logic [31:0] b);
    logic a_nan, b_nan;
    logic [31:0] ka, kb;
    a_nan = a[30:23] == 8'hff && a[22:0] != 0;
    b_nan = b[30:23] == 8'hff && b[22:0] != 0;
    ka = a[31] ? ~a : {1'b1, a[30:0]};  // order-preserving key of a sign-magnitude float
    kb = b[31] ? ~b : {1'b1, b[30:0]};
    fgt = !a_nan && !b_nan && !(a[30:0] == 0 && b[30:0] == 0) && ka > kb;
  endfunction

  // ---- position (pool_window): channel c, row y, column x; padded column x + P = S * q + a, row y + P = S * r + b.
  // The walk runs one position ahead: what a position needs (window membership, first and last taps, output
  // column) is worked out from its counters and registered as it becomes the current position (`load`), so the
  // data path starts from registers. `primed`: the first position has been loaded after reset.
  logic [15:0] c, y, x, a, q, b, r, qm, rm;
  logic        adv, n_virt, virt, step, load, primed;

  assign adv = !m_axis_tvalid || m_axis_tready;
  assign s_axis_tready = primed && adv && !virt;
  assign step = primed && adv && (virt || s_axis_tvalid);
  assign load = step || !primed;
  pool_window #(.C(C), .H(H), .W(W), .K(K), .S(S), .P(P)) u_win (
      .clk(clk), .rst_n(rst_n), .step(load), .virt(n_virt), .c(c), .y(y), .x(x), .a(a), .q(q), .qm(qm), .b(b), .r(r),
      .rm(rm)
  );

  // the next position: slot j holds the window column ox = q - i with ox mod R = j, bank j the window row
  // oy = r - vi with oy mod R = j
  logic [R-1:0] n_mem, n_first, n_close, n_vmem, n_vfirst, n_vclose;
  logic [OWB-1:0] n_cox;
  logic        n_last;
  for (genvar j = 0; j < R; j++) begin : g_next
    logic [15:0] i, kx, vi, ky, oy, ox;
    // i = (qm - j) mod R, a constant for each value of qm < R: a small table
    always_comb begin
      i = '0;
      vi = '0;
      for (int m = 0; m < R; m++) begin
        if (qm == 16'(m)) i = 16'((m - j + R) % R);
        if (rm == 16'(m)) vi = 16'((m - j + R) % R);
      end
    end
    assign kx = a + i * 16'(S);
    assign ox = q - i;
    assign n_mem[j] = kx < 16'(K) && q >= i && ox < 16'(OW);
    assign n_first[j] = kx == 0 || x == 0;
    assign n_close[j] = n_mem[j] && kx == 16'(K - 1);
    assign ky = b + vi * 16'(S);
    assign oy = r - vi;
    assign n_vmem[j] = ky < 16'(K) && r >= vi && oy < 16'(OH);
    assign n_vfirst[j] = ky == 0 || y == 0;
    assign n_vclose[j] = n_vmem[j] && ky == 16'(K - 1);
  end
  // the closing window's column: windows close one at a time, left to right, along a walked row; the image's
  // last window closes at a fixed position of the last channel
  logic [OWB-1:0] closes;
  assign n_cox = closes;
  assign n_last = c == 16'(C - 1) && y == 16'((OH - 1) * S + K - 1 - P) && x == 16'((OW - 1) * S + K - 1 - P);
  always_ff @(posedge clk) begin
    if (!rst_n) closes <= '0;
    else if (load) closes <= x == 16'(W + XV - 1) ? '0 : closes + OWB'(|n_close);
  end

  logic [R-1:0] mem, first, close, vmem, vfirst, vclose;
  logic [OWB-1:0] cox;
  logic        last, real_row;
  always_ff @(posedge clk) begin
    if (!rst_n) primed <= 1'b0;
    else if (load) primed <= 1'b1;
  end
  always_ff @(posedge clk) begin
    if (load) begin
      {mem, first, close, vmem, vfirst, vclose} <= {n_mem, n_first, n_close, n_vmem, n_vfirst, n_vclose};
      {cox, last, real_row, virt} <= {n_cox, n_last, y < 16'(H), n_virt};
    end
  end

  // ---- stage 1: window rows (slot j: the new row maximum, -inf start at the row's first tap inside the input;
  // a walked column adds nothing) ----
  logic [31:0] hacc[R], hfirst_v[R];
  logic [31:0] h_new[R], h_f[R];

  for (genvar j = 0; j < R; j++) begin : g_slot
    always_comb begin
      h_new[j] = first[j] ? NEG_INF : hacc[j];
      if (!virt && fgt(s_axis_tdata, h_new[j])) h_new[j] = s_axis_tdata;
      h_f[j] = first[j] ? s_axis_tdata : hfirst_v[j];
    end
    always_ff @(posedge clk) begin
      if (step && !virt && mem[j]) begin
        hacc[j] <= h_new[j];
        if (first[j]) hfirst_v[j] <= s_axis_tdata;
      end
    end
  end

  logic        hq_v, hq_real, hq_last;
  logic [31:0] hq_m, hq_f;
  logic [OWB-1:0] hq_ox;
  logic [R-1:0] hq_mem, hq_first, hq_close;

  always_ff @(posedge clk) begin
    if (!rst_n) hq_v <= 1'b0;
    else if (adv) hq_v <= step && |close;
  end
  always_ff @(posedge clk) begin
    if (adv && step) begin
      for (int j = 0; j < R; j++)
        if (close[j]) begin
          hq_m <= h_new[j];
          hq_f <= h_f[j];
        end
      {hq_ox, hq_last, hq_real} <= {cox, last, real_row};
      {hq_mem, hq_first, hq_close} <= {vmem, vfirst, vclose};
    end
  end

  // ---- stage 2: window accumulators, bank j = oy mod R, one word per output column ----
  logic [31:0] v_new[R];
  logic        f_nan;
  assign f_nan = P == 0 && hq_f[30:23] == 8'hff && hq_f[22:0] != 0;

  for (genvar j = 0; j < R; j++) begin : g_bank
    logic [31:0] acc[OW];
    logic [31:0] base;
    always_comb begin
      base = hq_first[j] ? NEG_INF : acc[hq_ox];
      if (!hq_real) v_new[j] = acc[hq_ox];  // a walked row (bottom padding) adds nothing
      else if (hq_first[j] && f_nan) v_new[j] = hq_f;  // P = 0: a NaN first tap stays
      else v_new[j] = fgt(hq_m, base) ? hq_m : base;
    end
    always_ff @(posedge clk) if (adv && hq_v && hq_real && hq_mem[j]) acc[hq_ox] <= v_new[j];
  end

  logic        out_v;
  logic [31:0] out_d;
  always_comb begin
    out_v = 1'b0;
    out_d = v_new[0];
    for (int j = 0; j < R; j++)
      if (hq_mem[j] && hq_close[j]) begin
        out_v = hq_v;
        out_d = v_new[j];
      end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      m_axis_tvalid <= 1'b0;
      m_axis_tlast <= 1'b0;
      busy <= 1'b0;
    end else begin
      if (m_axis_tvalid && m_axis_tready) begin
        m_axis_tvalid <= 1'b0;
        if (m_axis_tlast) busy <= 1'b0;
      end
      if (s_axis_tvalid && s_axis_tready) busy <= 1'b1;
      if (adv && out_v) begin
        m_axis_tvalid <= 1'b1;
        m_axis_tdata <= out_d;
        m_axis_tlast <= hq_last;
      end
    end
  end
endmodule
