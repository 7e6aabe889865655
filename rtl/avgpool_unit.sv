// Average pooling on a stream, same ports and order as maxpool_unit: C x H x W float32
// in, C x OH x OW averages out (tlast on an image's last), K x K windows, stride S >= K.
//
// Bit-exact with pycompress/hw/hls/reference.py _pool: acc = +0, acc = acc + v for the
// window's values in (ky, kx) order (one sequential float32 sum), then acc / (K*K).
// K*K must be a power of two (the planner refuses others): x / 2^n and x * 2^-n are
// the same correctly rounded value, so the divide is an fp32_mul by the exact
// reciprocal. The sums of one window depend on each other, so an input waits for the
// previous one's add (fp32_add latency) and a window's last value for the multiply:
// about 6 clocks an input, enough for the small pooling layers it serves.
module avgpool_unit #(
    parameter int C = 16,
    parameter int H = 4,
    parameter int W = 4,
    parameter int K = 2,
    parameter int S = 2,
    parameter int SUBNORMALS = 1,
    localparam int OW = (W - K) / S + 1,
    localparam int OWB = OW > 1 ? $clog2(OW) : 1
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
  localparam logic [31:0] RECIP = {1'b0, 8'(127 - $clog2(K * K)), 23'd0};  // 1 / (K*K), exact

  logic [OWB-1:0] col;
  logic        take, in_win, first, last_win, last_img, pending;
  logic [31:0] acc[OW];
  logic        add_v, mul_v;
  logic [31:0] add_y, mul_y;
  logic [OWB-1:0] ox_q;
  logic        last_win_q, last_img_q;

  assign s_axis_tready = !pending && !m_axis_tvalid;
  assign take = s_axis_tvalid && s_axis_tready;
  pool_window #(.C(C), .H(H), .W(W), .K(K), .S(S)) u_win (
      .clk(clk), .rst_n(rst_n), .step(take), .col(col), .in_win(in_win), .first(first), .last_win(last_win),
      .last_img(last_img)
  );

  fp32_add #(.SUBNORMALS(SUBNORMALS)) u_add (
      .clk(clk), .rst_n(rst_n), .in_valid(take && in_win), .a(first ? 32'd0 : acc[col]), .b(s_axis_tdata),
      .out_valid(add_v), .y(add_y)
  );
  fp32_mul #(.SUBNORMALS(SUBNORMALS)) u_mul (
      .clk(clk), .rst_n(rst_n), .in_valid(add_v && last_win_q), .a(add_y), .b(RECIP), .out_valid(mul_v), .y(mul_y)
  );

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      m_axis_tvalid <= 1'b0;
      m_axis_tlast <= 1'b0;
      pending <= 1'b0;
      busy <= 1'b0;
    end else begin
      if (m_axis_tvalid && m_axis_tready) begin
        m_axis_tvalid <= 1'b0;
        if (m_axis_tlast) busy <= 1'b0;
      end
      if (add_v) begin
        acc[ox_q] <= add_y;
        if (!last_win_q) pending <= 1'b0;
      end
      if (mul_v) begin
        pending <= 1'b0;
        m_axis_tvalid <= 1'b1;
        m_axis_tdata <= mul_y;
        m_axis_tlast <= last_img_q;
      end
      if (take) begin
        busy <= 1'b1;
        if (in_win) begin
          pending <= 1'b1;
          ox_q <= col;
          last_win_q <= last_win;
          last_img_q <= last_img;
        end
      end
    end
  end
endmodule
