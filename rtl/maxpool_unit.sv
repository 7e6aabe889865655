// Max pooling on a stream: C x H x W float32 activations in (C, H, W order, one a
// clock on s_axis), C x OH x OW maxima out on m_axis in the same order, tlast on an
// image's last output. Windows K x K with stride S >= K (non-overlapping; the rows and
// columns past the last whole window are read and dropped, PyTorch's floor mode).
//
// Bit-exact with pycompress/hw/hls/reference.py _pool: acc = the window's first value,
// then acc = (v > acc) ? v : acc for the others in (ky, kx) order, an IEEE compare:
// a NaN never wins (a NaN first value stays), -0 and +0 are equal (the first stays).
// Raster order visits a window's values in exactly that order, so one accumulator
// per output column (OW registers) is all the state: a line buffer of maxima.
// One input a clock; the output register holds one result, s_axis waits only
// while it is full and m_axis is not ready.
module maxpool_unit #(
    parameter int C = 6,
    parameter int H = 24,
    parameter int W = 24,
    parameter int K = 2,
    parameter int S = 2,
    localparam int OW = (W - K) / S + 1,
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

  logic [OWB-1:0] col;
  logic        take, in_win, first, last_win, last_img;
  logic [31:0] acc[OW];
  logic [31:0] cur;

  assign s_axis_tready = !m_axis_tvalid || m_axis_tready;
  assign take = s_axis_tvalid && s_axis_tready;
  pool_window #(.C(C), .H(H), .W(W), .K(K), .S(S)) u_win (
      .clk(clk), .rst_n(rst_n), .step(take), .col(col), .in_win(in_win), .first(first), .last_win(last_win),
      .last_img(last_img)
  );
  always_comb begin
    cur = acc[col];
    if (first || fgt(s_axis_tdata, cur)) cur = s_axis_tdata;
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
      if (take) begin
        busy <= 1'b1;
        if (in_win) acc[col] <= cur;
        if (in_win && last_win) begin
          m_axis_tvalid <= 1'b1;
          m_axis_tdata <= cur;
          m_axis_tlast <= last_img;
        end
      end
    end
  end
endmodule
