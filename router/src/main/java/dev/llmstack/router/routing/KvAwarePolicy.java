package dev.llmstack.router.routing;

import dev.llmstack.router.kvindex.ApproximatePrefixIndex;
import dev.llmstack.router.kvindex.KvBlockIndex;
import java.util.function.Predicate;

/**
 * {@code kv}: the cached prefix comes from the precise index fed by each engine's KV events; for an
 * engine whose events the router does not follow, from the approximate index of what the router
 * sent it.
 */
public final class KvAwarePolicy extends PrefixCostPolicy {

  private final KvBlockIndex index;
  private final ApproximatePrefixIndex approximate;
  private final Predicate<String> followsEvents;

  public KvAwarePolicy(
      KvBlockIndex index,
      ApproximatePrefixIndex approximate,
      Predicate<String> followsEvents,
      double tokensPerQueuedRequest) {
    super(index.hasher().blockSize(), tokensPerQueuedRequest);
    this.index = index;
    this.approximate = approximate;
    this.followsEvents = followsEvents;
  }

  @Override
  public String name() {
    return "kv";
  }

  @Override
  protected int cachedBlocks(String engine, long[] keys) {
    if (followsEvents.test(engine)) {
      return index.prefixDepth(engine, keys, keys.length);
    }
    return approximate.prefixDepth(engine, keys, keys.length, System.nanoTime());
  }
}
