// Global average pooling on a stream: C x N float32 in, channel by channel (N = H*W), C averages out
// (tlast on the last). Bit-exact with pycompress/hw/hls/reference.py _gap: per channel acc = +0, then
// acc = acc + v for its N values in order (one sequential float32 sum), then acc * RECIP, RECIP the
// float32 nearest 1/N (a parameter from the planner). The sums of a channel depend on each other, so an
// input waits for the previous add (fp32_add latency).
module gap_unit #(
    parameter int C = 16,
    parameter int N = 16,
    parameter logic [31:0] RECIP = 32'h3d80_0000,
    parameter int SUBNORMALS = 1
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
  logic [15:0] c, i;
  logic        take, pending, last_q, img_q;
  logic [31:0] acc, add_y, mul_y;
  logic        add_v, mul_v;

  assign s_axis_tready = !pending && !m_axis_tvalid;
  assign take = s_axis_tvalid && s_axis_tready;

  fp32_add #(.SUBNORMALS(SUBNORMALS)) u_add (
      .clk(clk), .rst_n(rst_n), .in_valid(take), .a(i == 0 ? 32'd0 : acc), .b(s_axis_tdata),
      .out_valid(add_v), .y(add_y)
  );
  fp32_mul #(.SUBNORMALS(SUBNORMALS)) u_mul (
      .clk(clk), .rst_n(rst_n), .in_valid(add_v && last_q), .a(add_y), .b(RECIP), .out_valid(mul_v), .y(mul_y)
  );

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      c <= '0;
      i <= '0;
      pending <= 1'b0;
      busy <= 1'b0;
      m_axis_tvalid <= 1'b0;
      m_axis_tlast <= 1'b0;
    end else begin
      if (m_axis_tvalid && m_axis_tready) begin
        m_axis_tvalid <= 1'b0;
        if (m_axis_tlast) busy <= 1'b0;
      end
      if (add_v) begin
        acc <= add_y;
        if (!last_q) pending <= 1'b0;
      end
      if (mul_v) begin
        pending <= 1'b0;
        m_axis_tvalid <= 1'b1;
        m_axis_tdata <= mul_y;
        m_axis_tlast <= img_q;
      end
      if (take) begin
        busy <= 1'b1;
        pending <= 1'b1;
        last_q <= i == 16'(N - 1);
        img_q <= i == 16'(N - 1) && c == 16'(C - 1);
        if (i == 16'(N - 1)) begin
          i <= '0;
          c <= c == 16'(C - 1) ? '0 : c + 1'b1;
        end else i <= i + 1'b1;
      end
    end
  end
endmodule
