package dev.llmstack.engine.perf;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One GPU's datasheet figures.
 *
 * @param peakFlops dense BF16 tensor FLOP/s (no sparsity)
 * @param hbmBandwidth bytes/s
 * @param memoryBytes device memory
 * @param interconnectBandwidth bytes/s per GPU for tensor-parallel all-reduce (NVLink)
 */
public record GpuSpec(
    String name,
    @JsonProperty("peak_flops") double peakFlops,
    @JsonProperty("hbm_bandwidth") double hbmBandwidth,
    @JsonProperty("memory_bytes") double memoryBytes,
    @JsonProperty("interconnect_bandwidth") double interconnectBandwidth) {}
