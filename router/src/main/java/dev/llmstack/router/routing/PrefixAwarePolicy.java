package dev.llmstack.router.routing;

import dev.llmstack.router.kvindex.ApproximatePrefixIndex;

/**
 * {@code prefix}: the cached prefix comes from the approximate index of what this router sent each
 * engine.
 */
public final class PrefixAwarePolicy extends PrefixCostPolicy {

  private final ApproximatePrefixIndex approximate;

  public PrefixAwarePolicy(
      ApproximatePrefixIndex approximate, int blockSize, double tokensPerQueuedRequest) {
    super(blockSize, tokensPerQueuedRequest);
    this.approximate = approximate;
  }

  @Override
  public String name() {
    return "prefix";
  }

  @Override
  protected int cachedBlocks(String engine, long[] keys) {
    return approximate.prefixDepth(engine, keys, keys.length, System.nanoTime());
  }
}
