// Two-entry register slice: full throughput, registered ready towards the source,
// so the consumer's ready never reaches the table memories combinationally.
module skid_buffer #(
    parameter int WIDTH = 8
) (
    input  logic             clk,
    input  logic             rst_n,
    input  logic             s_valid,
    output logic             s_ready,
    input  logic [WIDTH-1:0] s_data,
    output logic             m_valid,
    input  logic             m_ready,
    output logic [WIDTH-1:0] m_data
);
  logic             skid_valid;
  logic [WIDTH-1:0] skid_data;

  assign s_ready = !skid_valid;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      m_valid    <= 1'b0;
      skid_valid <= 1'b0;
    end else if (!m_valid || m_ready) begin
      if (skid_valid) begin
        m_data     <= skid_data;
        m_valid    <= 1'b1;
        skid_valid <= 1'b0;
      end else begin
        m_data  <= s_data;
        m_valid <= s_valid;
      end
    end else if (s_valid && s_ready) begin
      skid_data  <= s_data;
      skid_valid <= 1'b1;
    end
  end
endmodule
