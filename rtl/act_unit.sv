// A piecewise-linear activation on a stream, exact in float32 as pycompress/hw/activations.py computes it:
//   FUNCTION 0, hardtanh (ReLU6 = hardtanh(0, 6)): y = x < P0 ? P0 : (x > P1 ? P1 : x)
//   FUNCTION 1, leaky_relu:                         y = x > +0 ? x : x * P0   (one fp32_mul)
//   FUNCTION 2, relu (one no engine takes):         y = x > +0 ? x : +0       (as the reference: NaN and -0 give +0)
// Comparisons are IEEE (false with a NaN, -0 equal to +0) on the raw bits; a NaN passes hardtanh as it is
// and leaves leaky_relu as the multiplier's canonical NaN. P0/P1 are float32 bit patterns from the planner.
// Words are taken while the multiplier and the output FIFO have room for them (a credit of DEPTH words).
module act_unit #(
    parameter int FUNCTION = 0,
    parameter logic [31:0] P0 = 32'h0000_0000,
    parameter logic [31:0] P1 = 32'h40c0_0000,
    parameter int SUBNORMALS = 1,
    parameter int DEPTH = 16,
    localparam int CW = $clog2(DEPTH + 1),
    localparam int AW = $clog2(DEPTH)
) (
    input  logic        clk,
    input  logic        rst_n,
    output logic        busy,
    input  logic        s_axis_tvalid,
    output logic        s_axis_tready,
    input  logic [31:0] s_axis_tdata,
    input  logic        s_axis_tlast,
    output logic        m_axis_tvalid,
    input  logic        m_axis_tready,
    output logic [31:0] m_axis_tdata,
    output logic        m_axis_tlast
);
  // a < b in IEEE arithmetic
  function automatic logic flt(input logic [31:0] a, input logic [31:0] b);
    if ((&a[30:23] && |a[22:0]) || (&b[30:23] && |b[22:0])) return 1'b0;
    if (a[30:0] == '0 && b[30:0] == '0) return 1'b0;
    case ({a[31], b[31]})
      2'b00:   return a[30:0] < b[30:0];
      2'b11:   return a[30:0] > b[30:0];
      2'b10:   return 1'b1;
      default: return 1'b0;
    endcase
  endfunction

  logic          take, done_v, fifo_ready;
  logic [31:0]   done_y;
  logic          done_last;
  logic [CW-1:0] inflight, queued;

  assign take = s_axis_tvalid && (inflight + queued < CW'(DEPTH));
  assign s_axis_tready = take;
  assign busy = inflight != '0 || m_axis_tvalid;

  if (FUNCTION != 1) begin : g_compare
    always_ff @(posedge clk) begin
      done_v <= rst_n && take;
      done_last <= s_axis_tlast;
      if (FUNCTION == 2) done_y <= flt(32'd0, s_axis_tdata) ? s_axis_tdata : 32'd0;
      else done_y <= flt(s_axis_tdata, P0) ? P0 : (flt(P1, s_axis_tdata) ? P1 : s_axis_tdata);
    end
  end else begin : g_leaky
    logic [AW-1:0] wp, rp;
    logic [32:0]   side[DEPTH];  // {x > 0 ? keep x : use the product, x} ... and tlast below
    logic          lasts[DEPTH];
    logic          mul_v;
    logic [31:0]   mul_y;
    fp32_mul #(.SUBNORMALS(SUBNORMALS)) u_mul (
        .clk(clk), .rst_n(rst_n), .in_valid(take), .a(s_axis_tdata), .b(P0), .out_valid(mul_v), .y(mul_y)
    );
    always_ff @(posedge clk) begin
      if (!rst_n) begin
        wp <= '0;
        rp <= '0;
      end else begin
        if (take) begin
          side[wp] <= {flt(32'd0, s_axis_tdata), s_axis_tdata};
          lasts[wp] <= s_axis_tlast;
          wp <= wp == AW'(DEPTH - 1) ? '0 : wp + 1'b1;
        end
        if (mul_v) rp <= rp == AW'(DEPTH - 1) ? '0 : rp + 1'b1;
      end
    end
    assign done_v = mul_v;
    assign done_y = side[rp][32] ? side[rp][31:0] : mul_y;
    assign done_last = lasts[rp];
  end

  always_ff @(posedge clk) begin
    if (!rst_n) inflight <= '0;
    else inflight <= inflight + CW'(take) - CW'(done_v);
  end

  sync_fifo #(.WIDTH(33), .DEPTH(DEPTH)) u_out (
      .clk(clk), .rst_n(rst_n), .s_valid(done_v), .s_ready(fifo_ready), .s_data({done_last, done_y}),
      .m_valid(m_axis_tvalid), .m_ready(m_axis_tready), .m_data({m_axis_tlast, m_axis_tdata}), .count(queued)
  );
  logic unused;
  assign unused = fifo_ready;  // always ready: the credit keeps inflight + queued <= DEPTH
endmodule
