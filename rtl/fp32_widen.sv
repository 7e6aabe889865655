// Exact widening of a weight to FP32, bit for bit as torch's `.float()`:
// FP32 passes through, BF16 is bits << 16, FP16 rebiases normals, normalises
// subnormals and maps inf/NaN to the FP32 all-ones exponent, quieting a NaN
// (mantissa bit 22 set) and keeping its payload in the top mantissa bits.
module fp32_widen #(
    parameter int EXP_BITS = 8,
    parameter int MAN_BITS = 7,
    localparam int W = 1 + EXP_BITS + MAN_BITS
) (
    input  logic [W-1:0] x,
    output logic [31:0]  y
);
  generate
    if (EXP_BITS == 8 && W == 32) begin : g_fp32
      assign y = x;
    end else if (EXP_BITS == 8) begin : g_e8
      assign y = {x, {(32 - W){1'b0}}};
    end else if (EXP_BITS == 5 && MAN_BITS == 10) begin : g_fp16
      logic       sign;
      logic [4:0] e;
      logic [9:0] m;
      logic [3:0] lead;  // position of the leading one of a subnormal mantissa
      logic [22:0] frac;
      assign {sign, e, m} = x;
      always_comb begin
        lead = 4'd0;
        for (int i = 0; i < 10; i++) if (m[i]) lead = 4'(i);
        frac = {m, 13'b0} << (4'd10 - lead);
        if (e == 5'h1f) y = {sign, 8'hff, m[9] | (m != 10'd0), m[8:0], 13'b0};
        else if (e != 5'd0) y = {sign, 8'(e) + 8'd112, m, 13'b0};
        else if (m == 10'd0) y = {sign, 31'b0};
        else y = {sign, 8'(lead) + 8'd103, frac};
      end
    end else begin : g_unsupported
      initial $error("fp32_widen: unsupported format (EXP_BITS=%0d, MAN_BITS=%0d)", EXP_BITS, MAN_BITS);
      assign y = 32'b0;
    end
  endgenerate
endmodule
