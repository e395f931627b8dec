package dev.llmstack.bench.sim;

import dev.llmstack.engine.core.KvCacheManager;
import dev.llmstack.router.backend.BackendSnapshot;
import dev.llmstack.router.routing.CostWeights;
import dev.llmstack.router.routing.PrefixCostPolicy;
import java.util.List;
import java.util.Map;

/**
 * The twin's yardstick: the router's cost model fed with what each engine's KV cache holds right
 * now, read directly. No router can know more, so its hit rate bounds what {@code kv} and {@code
 * prefix} can reach.
 */
final class OraclePolicy extends PrefixCostPolicy {

  private final Map<String, KvCacheManager> caches;

  OraclePolicy(Map<String, KvCacheManager> caches, int blockSize, CostWeights weights) {
    super(blockSize, weights);
    this.caches = caches;
  }

  @Override
  public String name() {
    return "oracle";
  }

  @Override
  protected int[] cachedBlocks(
      dev.llmstack.router.routing.RouteRequest request,
      List<BackendSnapshot> candidates,
      long[] keys) {
    int[] out = new int[candidates.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = caches.get(candidates.get(i).id()).cachedPrefixBlocks(keys, keys.length);
    }
    return out;
  }
}
