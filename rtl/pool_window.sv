// The walk of a pooling unit (maxpool_unit, avgpool_unit) over one C x H x W image in C, H, W order: K x K
// windows, stride S, P < K rows/columns of padding each side (OH x OW windows, PyTorch's floor mode). It walks
// XV columns past each row and YV rows past each channel (positions with no input, `virt`) so that a window
// ending in the right or bottom padding closes at its own last position: windows close one at a time, in
// output order. `step` moves to the next position. Per position, in padded coordinates: column x + P =
// S * q + a (q mod R = qm), row y + P = S * r + b (r mod R = rm), R = ceil(K / S) the most windows a row or a
// column is in: window column ox holds the position as its tap kx = x + P - S * ox, for ox = q - i, i >= 0.
module pool_window #(
    parameter int C = 6,
    parameter int H = 24,
    parameter int W = 24,
    parameter int K = 2,
    parameter int S = K,
    parameter int P = 0,
    localparam int OH = (H + 2 * P - K) / S + 1,
    localparam int OW = (W + 2 * P - K) / S + 1,
    localparam int R = (K + S - 1) / S,
    localparam int XV = (OW - 1) * S + K - P > W ? (OW - 1) * S + K - P - W : 0,
    localparam int YV = (OH - 1) * S + K - P > H ? (OH - 1) * S + K - P - H : 0
) (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        step,
    output logic        virt,  // a walked position past the input (no input word)
    output logic [15:0] c, y, x, a, q, qm, b, r, rm
);
  localparam logic [15:0] A0 = 16'(P % S), Q0 = 16'(P / S), QM0 = 16'((P / S) % R);

  assign virt = x >= 16'(W) || y >= 16'(H);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      {c, y, x} <= '0;
      {a, q, qm} <= {A0, Q0, QM0};
      {b, r, rm} <= {A0, Q0, QM0};
    end else if (step) begin
      if (x == 16'(W + XV - 1)) begin
        x <= '0;
        {a, q, qm} <= {A0, Q0, QM0};
        if (y == 16'(H + YV - 1)) begin
          y <= '0;
          {b, r, rm} <= {A0, Q0, QM0};
          c <= c == 16'(C - 1) ? '0 : c + 1'b1;
        end else begin
          y <= y + 1'b1;
          if (b == 16'(S - 1)) begin
            b <= '0;
            r <= r + 1'b1;
            rm <= rm == 16'(R - 1) ? '0 : rm + 1'b1;
          end else b <= b + 1'b1;
        end
      end else begin
        x <= x + 1'b1;
        if (a == 16'(S - 1)) begin
          a <= '0;
          q <= q + 1'b1;
          qm <= qm == 16'(R - 1) ? '0 : qm + 1'b1;
        end else a <= a + 1'b1;
      end
    end
  end
endmodule
