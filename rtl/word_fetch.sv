// A lane's stored words read in order, over and over, into a small FIFO: the fetch stage shared by
// lane_wsrc.sv and lane_hsrc.sv. The memory has a registered read and a register after it (the
// block-RAM output register); a read issues only on credit (FIFO count + reads in flight < DEPTH), so
// the FIFO never fills and the consumer's pop reaches no memory enable combinationally.
module word_fetch #(
    parameter int MW = 36,      // word bits
    parameter int WORDS = 1,    // words stored
    parameter int DEPTH = 4,    // FIFO depth
    parameter FILE = ""         // $readmemh image ("": none)
) (
    input  logic          clk,
    input  logic          rst_n,
    output logic          w_valid,
    input  logic          w_pop,
    output logic [MW-1:0] w_head
);
  localparam int MA = WORDS > 1 ? $clog2(WORDS) : 1;
  localparam int FC = $clog2(DEPTH + 1);
  logic [MW-1:0] mem[WORDS];
  initial if (FILE != "") $readmemh(FILE, mem);
  logic [MA-1:0] addr;
  logic [MW-1:0] q1, q2;
  logic          v1, v2, rd, space;
  logic [FC-1:0] count;
  assign rd = rst_n && int'(count) + int'(v1) + int'(v2) < DEPTH;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      addr <= '0;
      {v1, v2} <= '0;
    end else begin
      if (rd) addr <= addr == MA'(WORDS - 1) ? '0 : addr + 1'b1;
      {v1, v2} <= {rd, v1};
    end
    if (rd) q1 <= mem[addr];
    q2 <= q1;
  end
  sync_fifo #(.WIDTH(MW), .DEPTH(DEPTH)) u_words (
      .clk(clk), .rst_n(rst_n), .s_valid(v2), .s_ready(space), .s_data(q2),
      .m_valid(w_valid), .m_ready(w_pop), .m_data(w_head), .count(count)
  );
  logic unused_space;
  assign unused_space = space;
endmodule
