// Raster position of a pooling unit's next input (C x H x W in C, H, W order) in its K x K,
// stride S windows: channel c, window row oy / row in window ky, window column ox / column kx.
// Shared by maxpool_unit and avgpool_unit: `step` advances one input; rows and columns past the
// last whole window are walked and reported outside every window (PyTorch's floor mode).
module pool_window #(
    parameter int C = 6,
    parameter int H = 24,
    parameter int W = 24,
    parameter int K = 2,
    parameter int S = K,
    localparam int OH = (H - K) / S + 1,
    localparam int OW = (W - K) / S + 1,
    localparam int OWB = OW > 1 ? $clog2(OW) : 1
) (
    input  logic           clk,
    input  logic           rst_n,
    input  logic           step,
    output logic [OWB-1:0] col,       // the window column (valid while in_win)
    output logic           in_win,    // the input belongs to a window
    output logic           first,     // ... as its first value
    output logic           last_win,  // ... as its last value
    output logic           last_img   // the window is the image's last
);
  logic [15:0] c, oy, ox, ky, kx;
  logic row_end, img_end;

  assign col = ox[OWB-1:0];
  assign in_win = ky < 16'(K) && kx < 16'(K) && oy < 16'(OH) && ox < 16'(OW);
  assign first = ky == 0 && kx == 0;
  assign last_win = ky == 16'(K - 1) && kx == 16'(K - 1);
  assign last_img = c == 16'(C - 1) && oy == 16'(OH - 1) && ox == 16'(OW - 1);
  assign row_end = ox == 16'((W - 1) / S) && kx == 16'((W - 1) % S);
  assign img_end = row_end && oy == 16'((H - 1) / S) && ky == 16'((H - 1) % S) && c == 16'(C - 1);

  always_ff @(posedge clk) begin
    if (!rst_n) {c, oy, ox, ky, kx} <= '0;
    else if (step) begin
      if (row_end) begin
        {ox, kx} <= '0;
        if (img_end) {c, oy, ky} <= '0;
        else if (oy == 16'((H - 1) / S) && ky == 16'((H - 1) % S)) begin
          {oy, ky} <= '0;
          c <= c + 1'b1;
        end else if (ky == 16'(S - 1)) begin
          ky <= '0;
          oy <= oy + 1'b1;
        end else ky <= ky + 1'b1;
      end else if (kx == 16'(S - 1)) begin
        kx <= '0;
        ox <= ox + 1'b1;
      end else kx <= kx + 1'b1;
    end
  end
endmodule
