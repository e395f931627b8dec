package dev.llmstack.router.routing;

import dev.llmstack.router.kvindex.ApproximatePrefixIndex;

/**
 * {@code prefix}: the cached prefix comes from the approximate index of what this router sent each
 * engine.
 */
public final class PrefixAwarePolicy extends PrefixCostPolicy {

  private final ApproximatePrefixIndex approximate;
  private final java.util.function.LongSupplier clock;

  /** {@code clock} gives the time the index's TTL is measured in (virtual time in the twin). */
  public PrefixAwarePolicy(
      ApproximatePrefixIndex approximate,
      int blockSize,
      CostWeights weights,
      java.util.function.LongSupplier clock) {
    super(blockSize, weights);
    this.approximate = approximate;
    this.clock = clock;
  }

  @Override
  public String name() {
    return "prefix";
  }

  @Override
  protected int[] cachedBlocks(
      RouteRequest request,
      java.util.List<dev.llmstack.router.backend.BackendSnapshot> candidates,
      long[] keys) {
    long now = clock.getAsLong();
    int[] out = new int[candidates.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = approximate.prefixDepth(candidates.get(i).id(), keys, keys.length, now);
    }
    return out;
  }
}
