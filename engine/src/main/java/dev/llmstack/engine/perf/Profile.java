package dev.llmstack.engine.perf;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A deployment to simulate: a model on one or more GPUs (tensor parallel), with vLLM's serving
 * settings.
 *
 * @param gpuMemoryUtilization vLLM's --gpu-memory-utilization
 * @param activationReserveBytes per GPU memory kept for activations and CUDA graphs, not KV
 */
public record Profile(
    String id,
    String description,
    GpuSpec gpu,
    ModelSpec model,
    @JsonProperty("tensor_parallel") int tensorParallel,
    @JsonProperty("gpu_memory_utilization") double gpuMemoryUtilization,
    @JsonProperty("activation_reserve_bytes") double activationReserveBytes,
    @JsonProperty("block_size") int blockSize,
    @JsonProperty("max_num_seqs") int maxNumSeqs,
    @JsonProperty("max_num_batched_tokens") int maxNumBatchedTokens,
    Efficiency efficiency) {

  public Profile {
    if (tensorParallel < 1 || blockSize < 1 || maxNumSeqs < 1 || maxNumBatchedTokens < 1) {
      throw new IllegalArgumentException("profile " + id + ": sizes must be positive");
    }
  }

  /** KV blocks in the pool, as vLLM sizes it from free memory after weights and activations. */
  public int numGpuBlocks() {
    double perGpu =
        gpu.memoryBytes() * gpuMemoryUtilization
            - model.weightBytesTotal() / tensorParallel
            - activationReserveBytes;
    double kvPerTokenPerGpu = model.kvBytesPerToken() / tensorParallel;
    long blocks = (long) Math.floor(perGpu / (kvPerTokenPerGpu * blockSize));
    if (blocks <= 0) {
      throw new IllegalArgumentException(
          "profile " + id + ": the weights leave no memory for the KV cache");
    }
    return (int) Math.min(Integer.MAX_VALUE, blocks);
  }
}
