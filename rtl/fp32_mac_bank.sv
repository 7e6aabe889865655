// Multiply-accumulate with a bank of BANK accumulators, one per output in flight.
// Terms (w, x) enter one a clock, each tagged with its accumulator (in_slot) and
// whether it is the output's first term (the sum restarts from +0) or last (the
// sum leaves on out_*). Products go through fp32_mul, sums through fp32_add; the
// accumulator is read as the product reaches the adder, bypassed from the adder
// output when its previous sum is leaving in that very clock.
//
// Schedule rule: two terms of the same slot enter at least ADD_LATENCY (4) clocks
// apart. Interleaving BANK >= ADD_LATENCY outputs round robin therefore keeps one
// term a clock with the adder's latency hidden, and every output is still summed
// in its own term order: ((0 + w0*x0) + w1*x1) + ..., each product and sum
// rounded, i.e. pycompress.hw.fpref.FpUnits.dot (numpy sequential float32).
// A result leaves MUL_LATENCY + ADD_LATENCY (7) clocks after its last term enters.
module fp32_mac_bank #(
    parameter int SUBNORMALS = 1,
    parameter int BANK = 4,
    localparam int SW = BANK > 1 ? $clog2(BANK) : 1
) (
    input  logic          clk,
    input  logic          rst_n,
    input  logic          in_valid,
    input  logic [SW-1:0] in_slot,
    input  logic          in_first,
    input  logic          in_last,
    input  logic [31:0]   in_w,
    input  logic [31:0]   in_x,
    output logic          out_valid,
    output logic [SW-1:0] out_slot,
    output logic [31:0]   out_sum
);
  localparam int MUL_LATENCY = 3;  // fp32_mul LATENCY
  localparam int ADD_LATENCY = 4;  // fp32_add LATENCY

  // ---- products, with the tags travelling beside the multiplier ----
  logic        p_valid;
  logic [31:0] p;
  fp32_mul #(.SUBNORMALS(SUBNORMALS)) u_mul (
      .clk, .rst_n, .in_valid, .a(in_w), .b(in_x), .out_valid(p_valid), .y(p)
  );
  logic [SW+1:0] mtag[MUL_LATENCY];  // {slot, first, last}
  always_ff @(posedge clk) begin
    mtag[0] <= {in_slot, in_first, in_last};
    for (int i = 1; i < MUL_LATENCY; i++) mtag[i] <= mtag[i-1];
  end
  logic [SW-1:0] p_slot;
  logic          p_first, p_last;
  assign {p_slot, p_first, p_last} = mtag[MUL_LATENCY-1];

  // ---- accumulate ----
  logic          s_valid, s_last;
  logic [SW-1:0] s_slot;
  logic [31:0]   s_sum, acc_in;
  logic [31:0]   acc[BANK];
  always_comb begin
    if (p_first) acc_in = 32'd0;
    else if (s_valid && s_slot == p_slot) acc_in = s_sum;  // the slot's previous sum, leaving now
    else acc_in = acc[p_slot];
  end
  fp32_add #(.SUBNORMALS(SUBNORMALS)) u_add (
      .clk, .rst_n, .in_valid(p_valid), .a(acc_in), .b(p), .out_valid(s_valid), .y(s_sum)
  );
  logic [SW:0] atag[ADD_LATENCY];  // {slot, last}
  always_ff @(posedge clk) begin
    atag[0] <= {p_slot, p_last};
    for (int i = 1; i < ADD_LATENCY; i++) atag[i] <= atag[i-1];
    if (s_valid) acc[s_slot] <= s_sum;
  end
  assign {s_slot, s_last} = atag[ADD_LATENCY-1];

  assign out_valid = s_valid && s_last;
  assign out_slot  = s_slot;
  assign out_sum   = s_sum;
endmodule
