package dev.llmstack.engine.core;

/**
 * The scheduler's and KV cache's settings (vLLM's names in brackets).
 *
 * @param numGpuBlocks KV blocks in the pool [num_gpu_blocks]
 * @param blockSize tokens per block [block_size]
 * @param maxNumSeqs sequences in one batch at most [max_num_seqs]
 * @param maxNumBatchedTokens tokens computed in one step at most [max_num_batched_tokens]
 * @param maxModelLen prompt plus output tokens at most [max_model_len]
 * @param enablePrefixCaching automatic prefix caching [enable_prefix_caching]
 * @param eosProbability chance that a token after min_tokens is EOS, unless ignore_eos
 * @param kvEvents whether prefix-cache changes become KV events
 * @param cpuOffloadBlocks blocks the CPU offload tier holds (LMCache's local CPU backend,
 *     write-through: every block cached in GPU memory is also kept in CPU memory, least recently
 *     used out first); 0 for none
 * @param loadNanosPerToken time to bring one token's KV from CPU back to GPU memory (KV bytes per
 *     token over the host-to-device bandwidth)
 * @param maxLoras LoRA adapters one batch may use at most [max_loras]; 0 when LoRA is off
 */
public record EngineConfig(
    int numGpuBlocks,
    int blockSize,
    int maxNumSeqs,
    int maxNumBatchedTokens,
    int maxModelLen,
    boolean enablePrefixCaching,
    double eosProbability,
    boolean kvEvents,
    int cpuOffloadBlocks,
    double loadNanosPerToken,
    int maxLoras) {

  /**
   * A profile's engine as vLLM would size it (its KV blocks, batch limits and context length), with
   * prefix caching on, EOS never sampled, and a CPU offload tier of {@code cpuOffloadGib} GiB.
   */
  public static EngineConfig of(
      dev.llmstack.engine.perf.Profile profile, boolean kvEvents, double cpuOffloadGib) {
    return new EngineConfig(
        profile.numGpuBlocks(),
        profile.blockSize(),
        profile.maxNumSeqs(),
        profile.maxNumBatchedTokens(),
        profile.model().maxModelLen(),
        true,
        0.0,
        kvEvents,
        profile.offloadBlocks(cpuOffloadGib),
        profile.loadNanosPerToken(),
        0);
  }

  /** This engine serving LoRA adapters, {@code maxLoras} per batch (0: LoRA off). */
  public EngineConfig withMaxLoras(int maxLoras) {
    return new EngineConfig(
        numGpuBlocks,
        blockSize,
        maxNumSeqs,
        maxNumBatchedTokens,
        maxModelLen,
        enablePrefixCaching,
        eosProbability,
        kvEvents,
        cpuOffloadBlocks,
        loadNanosPerToken,
        maxLoras);
  }

  /** Without a CPU offload tier. */
  public EngineConfig(
      int numGpuBlocks,
      int blockSize,
      int maxNumSeqs,
      int maxNumBatchedTokens,
      int maxModelLen,
      boolean enablePrefixCaching,
      double eosProbability,
      boolean kvEvents) {
    this(
        numGpuBlocks,
        blockSize,
        maxNumSeqs,
        maxNumBatchedTokens,
        maxModelLen,
        enablePrefixCaching,
        eosProbability,
        kvEvents,
        0,
        0,
        0);
  }

  public EngineConfig {
    if (numGpuBlocks <= 0 || blockSize <= 0 || maxNumSeqs <= 0 || maxNumBatchedTokens <= 0) {
      throw new IllegalArgumentException("engine sizes must be positive");
    }
    if (maxModelLen <= 0) {
      throw new IllegalArgumentException("max_model_len must be positive");
    }
    if ((long) numGpuBlocks * blockSize < maxModelLen) {
      // vLLM refuses to start in this case too: one maximal request must fit in the KV cache.
      throw new IllegalArgumentException(
          "max_model_len "
              + maxModelLen
              + " is larger than the "
              + (long) numGpuBlocks * blockSize
              + " tokens the KV cache can hold ("
              + numGpuBlocks
              + " blocks of "
              + blockSize
              + "); lower max_model_len or raise num_gpu_blocks");
    }
    if (cpuOffloadBlocks < 0 || loadNanosPerToken < 0) {
      throw new IllegalArgumentException("CPU offload size and load time must not be negative");
    }
    if (maxLoras < 0) {
      throw new IllegalArgumentException("max_loras must not be negative");
    }
    if (eosProbability < 0 || eosProbability > 1) {
      throw new IllegalArgumentException("eos probability must be in [0, 1]");
    }
  }
}
