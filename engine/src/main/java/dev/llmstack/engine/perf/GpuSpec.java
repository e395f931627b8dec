package dev.llmstack.engine.perf;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One GPU's datasheet figures (dense, no sparsity).
 *
 * @param name a label, e.g. {@code H100-SXM5-80GB}
 * @param peakFlops dense BF16 tensor-core FLOP/s
 * @param peakFp8Flops dense FP8 tensor-core FLOP/s; 0 when the GPU has no FP8 tensor cores (A100),
 *     in which case FP8 weights are computed at the BF16 rate, as weight-only FP8 kernels do
 * @param hbmBandwidth device memory bandwidth, bytes/s
 * @param memoryBytes device memory as the CUDA runtime reports it (what vLLM multiplies by {@code
 *     gpu_memory_utilization}), bytes
 * @param interconnectBandwidth bytes/s one GPU can send to its peers for the tensor-parallel
 *     all-reduce (NVLink, one direction); unused when tensor parallelism is 1
 */
public record GpuSpec(
    String name,
    @JsonProperty("peak_flops") double peakFlops,
    @JsonProperty("peak_fp8_flops") double peakFp8Flops,
    @JsonProperty("hbm_bandwidth") double hbmBandwidth,
    @JsonProperty("memory_bytes") double memoryBytes,
    @JsonProperty("interconnect_bandwidth") double interconnectBandwidth) {

  public GpuSpec {
    Check.present(name, "gpu.name");
    Check.positive(peakFlops, "gpu.peak_flops");
    Check.nonNegative(peakFp8Flops, "gpu.peak_fp8_flops");
    Check.positive(hbmBandwidth, "gpu.hbm_bandwidth");
    Check.positive(memoryBytes, "gpu.memory_bytes");
    Check.nonNegative(interconnectBandwidth, "gpu.interconnect_bandwidth");
  }

  /**
   * Tensor-core FLOP/s for weights of {@code weightBytes} bytes: the FP8 rate for 1-byte weights
   * when the GPU has one (W8A8 kernels), the BF16 rate otherwise.
   */
  public double peakFlopsFor(double weightBytes) {
    return weightBytes <= 1.0 && peakFp8Flops > 0 ? peakFp8Flops : peakFlops;
  }
}
