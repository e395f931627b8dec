package dev.llmstack.engine.perf;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * How close a real serving stack gets to the roofline, calibrated against published vLLM figures
 * (docs/calibration.md).
 *
 * @param mfu achieved fraction of peak FLOP/s in compute-bound steps
 * @param mbu achieved fraction of HBM bandwidth in memory-bound steps
 * @param stepOverheadSeconds fixed CPU cost per step (scheduling, sampling launch, detokenization)
 * @param perSeqOverheadSeconds CPU cost per sequence in the batch
 * @param allReduceLatencySeconds latency of one tensor-parallel all-reduce (two per layer per step)
 */
public record Efficiency(
    double mfu,
    double mbu,
    @JsonProperty("step_overhead_seconds") double stepOverheadSeconds,
    @JsonProperty("per_seq_overhead_seconds") double perSeqOverheadSeconds,
    @JsonProperty("all_reduce_latency_seconds") double allReduceLatencySeconds) {}
