package dev.llmstack.router.routing;

/**
 * The cache-aware cost model's weights (see {@link PrefixCostPolicy}).
 *
 * @param loadTokensPerRequest prefill tokens one request in flight or queued at an engine is worth:
 *     how much cache hit justifies waiting behind one more request
 * @param minHitRatio hits covering less than this share of the prompt are not credited
 * @param pendingPrefillWeight weight of the prefill tokens already queued at the engine (sent by
 *     this router, first token not seen yet): with FCFS scheduling each of them is a token of
 *     prefill the new request waits for
 * @param cpuHitWeight share of a recompute that a cached block in a slower tier (CPU offload)
 *     saves: loading it back into GPU memory is not free
 * @param loraWaitWeight for a LoRA request at an engine whose batch already uses its max_loras
 *     other adapters: how many times the engine's load it waits behind before it can start (0
 *     ignores adapter slots)
 */
public record CostWeights(
    double loadTokensPerRequest,
    double minHitRatio,
    double pendingPrefillWeight,
    double cpuHitWeight,
    double loraWaitWeight) {

  public static final CostWeights DEFAULT = new CostWeights(256, 0.5, 1.0, 0.8, 1.0);

  public CostWeights(
      double loadTokensPerRequest,
      double minHitRatio,
      double pendingPrefillWeight,
      double cpuHitWeight) {
    this(loadTokensPerRequest, minHitRatio, pendingPrefillWeight, cpuHitWeight, 1.0);
  }

  public CostWeights {
    if (!(loadTokensPerRequest >= 0)) {
      throw new IllegalArgumentException("load tokens per request must be >= 0");
    }
    if (!(minHitRatio >= 0 && minHitRatio <= 1)) {
      throw new IllegalArgumentException("minimum hit ratio must be in [0, 1], got " + minHitRatio);
    }
    if (!(cpuHitWeight >= 0 && cpuHitWeight <= 1)) {
      throw new IllegalArgumentException("CPU hit weight must be in [0, 1], got " + cpuHitWeight);
    }
    if (!(loraWaitWeight >= 0)) {
      throw new IllegalArgumentException("LoRA wait weight must be >= 0");
    }
    if (!(pendingPrefillWeight >= 0)) {
      throw new IllegalArgumentException("pending prefill weight must be >= 0");
    }
  }
}
