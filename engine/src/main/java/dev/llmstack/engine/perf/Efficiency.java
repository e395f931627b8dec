package dev.llmstack.engine.perf;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * How close a real serving stack gets to the roofline. Fitted per profile against published vLLM
 * measurements; docs/calibration.md gives the figures each profile was fitted to.
 *
 * @param mfu achieved fraction of peak FLOP/s in compute-bound steps (model FLOPs utilisation)
 * @param mbu achieved fraction of HBM bandwidth in memory-bound steps (model bandwidth utilisation)
 * @param stepOverheadSeconds fixed host cost per step that the GPU waits for (scheduling, input
 *     preparation, sampling, output processing): a few ms before vLLM 0.6, under 1 ms in V1
 * @param perSeqOverheadSeconds host cost per sequence in the step (input tensors, detokenization)
 * @param allReduceLatencySeconds fixed latency of one tensor-parallel all-reduce; a step has two
 *     per layer (after attention and after the MLP)
 */
public record Efficiency(
    double mfu,
    double mbu,
    @JsonProperty("step_overhead_seconds") double stepOverheadSeconds,
    @JsonProperty("per_seq_overhead_seconds") double perSeqOverheadSeconds,
    @JsonProperty("all_reduce_latency_seconds") double allReduceLatencySeconds) {

  public Efficiency {
    Check.fraction(mfu, "efficiency.mfu");
    Check.fraction(mbu, "efficiency.mbu");
    Check.nonNegative(stepOverheadSeconds, "efficiency.step_overhead_seconds");
    Check.nonNegative(perSeqOverheadSeconds, "efficiency.per_seq_overhead_seconds");
    Check.nonNegative(allReduceLatencySeconds, "efficiency.all_reduce_latency_seconds");
  }
}
