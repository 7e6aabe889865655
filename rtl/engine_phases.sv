// The phases of a layer engine (fc_engine, conv_engine), in one place:
// IDLE -(start)-> LOAD -(last input beat)-> RUN -(last term issued)-> FLUSH
// -(lane 0 writes its last result)-> DRAIN -(the tlast beat leaves on m_axis)-> IDLE.
// compute_cycles counts the RUN and FLUSH clocks (first term to last result written),
// cleared at start; `done` pulses the clock after the tlast beat. The engine steps its
// own counters on the phase outputs; load_last and run_last are its conditions.
module engine_phases (
    input  logic        clk,
    input  logic        rst_n,
    input  logic        start,
    input  logic        load_last,      // LOAD: this clock's s_axis beat is the last input
    input  logic        run_last,       // RUN: this clock issues the last term
    input  logic        last_out,       // FLUSH: lane 0 writes its last result
    input  logic        m_axis_tvalid,
    input  logic        m_axis_tready,
    input  logic        m_axis_tlast,
    output logic        idle,
    output logic        load,
    output logic        run,
    output logic        drain,
    output logic        busy,
    output logic        done,
    output logic [31:0] compute_cycles
);
  localparam logic [2:0] IDLE = 3'd0, LOAD = 3'd1, RUN = 3'd2, FLUSH = 3'd3, DRAIN = 3'd4;
  logic [2:0] state;
  logic       sent;  // the tlast beat moves this clock
  assign sent = m_axis_tvalid && m_axis_tready && m_axis_tlast;
  always_ff @(posedge clk) begin
    if (!rst_n) begin
      state <= IDLE;
      compute_cycles <= '0;
    end else begin
      case (state)
        IDLE: if (start) begin
          state <= LOAD;
          compute_cycles <= '0;
        end
        LOAD: if (load_last) state <= RUN;
        RUN: begin
          compute_cycles <= compute_cycles + 1'b1;
          if (run_last) state <= FLUSH;
        end
        FLUSH: begin
          compute_cycles <= compute_cycles + 1'b1;
          if (last_out) state <= DRAIN;
        end
        DRAIN: if (sent) state <= IDLE;
        default: state <= IDLE;
      endcase
    end
  end
  assign idle = state == IDLE;
  assign load = state == LOAD;
  assign run = state == RUN;
  assign drain = state == DRAIN;
  assign busy = state != IDLE;
  always_ff @(posedge clk) done <= rst_n && drain && sent;
endmodule
