// Small synchronous first-word-fall-through FIFO (distributed RAM or registers): `s_*` in,
// `m_*` out, `count` for the credit schemes of the engines (a producer with a fixed pipeline
// latency issues only while count + in flight < DEPTH, so it never needs backpressure).
// Read data leaves from a register-free memory read: keep DEPTH small.
module sync_fifo #(
    parameter int WIDTH = 32,
    parameter int DEPTH = 8,
    localparam int AW = DEPTH > 1 ? $clog2(DEPTH) : 1,
    localparam int CW = $clog2(DEPTH + 1)
) (
    input  logic             clk,
    input  logic             rst_n,
    input  logic             s_valid,
    output logic             s_ready,
    input  logic [WIDTH-1:0] s_data,
    output logic             m_valid,
    input  logic             m_ready,
    output logic [WIDTH-1:0] m_data,
    output logic [CW-1:0]    count
);
  logic [WIDTH-1:0] mem[DEPTH];
  logic [AW-1:0]    wp, rp;
  logic             push, pop;
  assign s_ready = count != CW'(DEPTH);
  assign m_valid = count != '0;
  assign push = s_valid && s_ready;
  assign pop = m_valid && m_ready;
  assign m_data = mem[rp];
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      wp <= '0;
      rp <= '0;
      count <= '0;
    end else begin
      if (push) wp <= wp == AW'(DEPTH - 1) ? '0 : wp + 1'b1;
      if (pop) rp <= rp == AW'(DEPTH - 1) ? '0 : rp + 1'b1;
      count <= count + CW'(push) - CW'(pop);
    end
    if (push) mem[wp] <= s_data;
  end
endmodule
