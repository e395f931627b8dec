package dev.llmstack.router.routing;

/**
 * The cache-aware cost model's weights (see {@link PrefixCostPolicy}).
 *
 * @param loadTokensPerRequest prefill tokens one request in flight or queued at an engine is worth:
 *     how much cache hit justifies waiting behind one more request
 * @param minHitRatio hits covering less than this share of the prompt are not credited
 */
public record CostWeights(double loadTokensPerRequest, double minHitRatio) {

  public static final CostWeights DEFAULT = new CostWeights(256, 0.5);

  public CostWeights {
    if (!(loadTokensPerRequest >= 0)) {
      throw new IllegalArgumentException("load tokens per request must be >= 0");
    }
    if (!(minHitRatio >= 0 && minHitRatio <= 1)) {
      throw new IllegalArgumentException("minimum hit ratio must be in [0, 1], got " + minHitRatio);
    }
  }
}
