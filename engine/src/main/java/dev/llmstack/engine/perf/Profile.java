package dev.llmstack.engine.perf;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Locale;

/**
 * A deployment to simulate: a model on one or more GPUs (tensor parallel), with vLLM's serving
 * settings and the efficiency factors fitted to published measurements. Shipped profiles are JSON
 * files under {@code resources/profiles/}; see {@link Profiles}.
 *
 * @param id short name, {@code model@gpu}, e.g. {@code llama-3.1-8b@h100}
 * @param description one line for humans
 * @param tensorParallel GPUs the model is sharded over ({@code --tensor-parallel-size})
 * @param gpuMemoryUtilization vLLM's {@code --gpu-memory-utilization} (default 0.9)
 * @param activationReserveBytes per-GPU memory vLLM's start-up profiling keeps for activations,
 *     CUDA graphs and non-torch allocations, i.e. not for weights or KV cache
 * @param blockSize tokens per KV block ({@code --block-size}, 16)
 * @param maxNumSeqs {@code --max-num-seqs}
 * @param maxNumBatchedTokens {@code --max-num-batched-tokens}, the per-step token budget
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
    Check.present(id, "id");
    String where = "profile '" + id + "': ";
    try {
      Check.present(gpu, "gpu");
      Check.present(model, "model");
      Check.present(efficiency, "efficiency");
      Check.positive(tensorParallel, "tensor_parallel");
      Check.fraction(gpuMemoryUtilization, "gpu_memory_utilization");
      Check.nonNegative(activationReserveBytes, "activation_reserve_bytes");
      Check.positive(blockSize, "block_size");
      Check.positive(maxNumSeqs, "max_num_seqs");
      Check.positive(maxNumBatchedTokens, "max_num_batched_tokens");
      if (tensorParallel > 1) {
        Check.positive(gpu.interconnectBandwidth(), "gpu.interconnect_bandwidth");
      }
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + e.getMessage(), e);
    }
  }

  /** KV-cache bytes per token over all GPUs (each GPU holds 1/tp of the KV heads). */
  public double kvBytesPerToken() {
    return model.kvBytesPerToken();
  }

  /** Weight bytes over all GPUs. */
  public double weightBytes() {
    return model.weightBytesTotal();
  }

  /** Weight bytes each GPU holds and reads once per step. */
  public double weightBytesPerGpu() {
    return model.weightBytesTotal() / tensorParallel;
  }

  /**
   * KV blocks in the pool, as vLLM sizes it after profiling: what {@code gpu_memory_utilization}
   * leaves on each GPU after its shard of the weights and the activation reserve, in blocks of
   * {@code blockSize} tokens of this GPU's share of the KV cache.
   *
   * <pre>
   * floor((memory * utilization - weights / tp - activation reserve)
   *       / (kv bytes per token / tp * block size))
   * </pre>
   *
   * The same as {@code floor((memory * tp * utilization - weights - tp * reserve) / (kv bytes per
   * token * block size))}.
   *
   * @throws IllegalArgumentException when the weights leave no room for a KV cache
   */
  public int numGpuBlocks() {
    double freePerGpu =
        gpu.memoryBytes() * gpuMemoryUtilization - weightBytesPerGpu() - activationReserveBytes;
    double blockBytesPerGpu = model.kvBytesPerToken() / tensorParallel * blockSize;
    long blocks = (long) Math.floor(freePerGpu / blockBytesPerGpu);
    if (blocks <= 0) {
      throw new IllegalArgumentException(
          String.format(
              Locale.ROOT,
              "profile '%s': %.1f GB of weights per GPU and %.1f GB of activations leave no KV"
                  + " cache memory in %.1f GB x %.2f utilization",
              id,
              weightBytesPerGpu() / 1e9,
              activationReserveBytes / 1e9,
              gpu.memoryBytes() / 1e9,
              gpuMemoryUtilization));
    }
    return (int) Math.min(Integer.MAX_VALUE, blocks);
  }

  /**
   * Host-to-device bandwidth per GPU for loading offloaded KV back: PCIe Gen5 x16 moves 64 GB/s
   * each way on paper; pinned-memory copies reach about half of that in practice.
   */
  public static final double HOST_TO_DEVICE_BYTES_PER_SECOND = 32e9;

  /** Blocks a CPU offload tier of {@code gib} GiB holds (LMCache's max_local_cpu_size). */
  public int offloadBlocks(double gib) {
    if (gib < 0) {
      throw new IllegalArgumentException("CPU offload size must not be negative: " + gib);
    }
    return (int) Math.min(Integer.MAX_VALUE, gib * (1L << 30) / (kvBytesPerToken() * blockSize));
  }

  /** Nanoseconds to load one token's KV from CPU memory (each GPU loads its 1/tp in parallel). */
  public double loadNanosPerToken() {
    return kvBytesPerToken() / tensorParallel / HOST_TO_DEVICE_BYTES_PER_SECOND * 1e9;
  }
}
