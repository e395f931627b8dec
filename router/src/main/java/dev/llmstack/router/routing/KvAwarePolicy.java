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

  /**
   * How long a just-routed prefix counts as cached on an engine that follows KV events, before its
   * events confirm it. A burst of requests sharing a new prefix would otherwise scatter: the first
   * one's blocks only appear in the index after the engine has computed them (a prefill later), and
   * until then every sibling sees no hit anywhere. Longer than a long prefill plus the event delay;
   * short enough that a prefix the engine never cached (evicted, or the request failed) stops
   * attracting traffic quickly.
   */
  static final long SPECULATIVE_NANOS = 5_000_000_000L;

  private final KvBlockIndex index;
  private final ApproximatePrefixIndex approximate;
  private final Predicate<String> followsEvents;
  private final java.util.function.LongSupplier clock;
  private final double cpuHitWeight;

  /** {@code clock} gives the time the approximate index's TTL is measured in. */
  public KvAwarePolicy(
      KvBlockIndex index,
      ApproximatePrefixIndex approximate,
      Predicate<String> followsEvents,
      CostWeights weights,
      java.util.function.LongSupplier clock) {
    super(index.hasher().blockSize(), weights);
    this.index = index;
    this.approximate = approximate;
    this.followsEvents = followsEvents;
    this.clock = clock;
    this.cpuHitWeight = weights.cpuHitWeight();
  }

  /**
   * Blocks the engine's events place in a slower tier (CPU offload) save {@code cpuHitWeight} of a
   * recompute each: they still have to be loaded into GPU memory. The prediction of cached tokens
   * counts them fully, as vLLM reports tokens loaded from an offload tier as cached.
   */
  @Override
  protected double savedBlocks(
      RouteRequest request,
      dev.llmstack.router.backend.BackendSnapshot candidate,
      long[] keys,
      int depth) {
    if (cpuHitWeight >= 1.0
        || request.keySource() == RouteRequest.KeySource.CHARACTERS
        || !followsEvents.test(candidate.id())
        || index.allInGpu(candidate.id())) {
      return depth; // nothing to discount: skip the per-block tier walk
    }
    // Blocks past what the events confirmed are speculative (just routed, surely in GPU memory).
    int confirmed = index.prefixDepth(candidate.id(), keys, depth);
    int gpu = index.gpuPrefixDepth(candidate.id(), keys, confirmed);
    return gpu + cpuHitWeight * (confirmed - gpu) + (depth - confirmed);
  }

  @Override
  public String name() {
    return "kv";
  }

  /**
   * One pass over the precise index for all engines, then the approximate index for those without
   * events, and for those with events the prefixes routed to them in the last few seconds that
   * their events may not have confirmed yet (speculative entries).
   */
  @Override
  protected int[] cachedBlocks(
      RouteRequest request,
      java.util.List<dev.llmstack.router.backend.BackendSnapshot> candidates,
      long[] keys) {
    long now = clock.getAsLong();
    int[] out = new int[candidates.size()];
    if (request.keySource() == RouteRequest.KeySource.CHARACTERS) {
      // Character keys never match the engines' events: only what the router sent can tell.
      for (int i = 0; i < out.length; i++) {
        out[i] = approximate.prefixDepth(candidates.get(i).id(), keys, keys.length, now);
      }
      return out;
    }
    KvBlockIndex.Depths precise = index.prefixDepths(keys, keys.length);
    for (int i = 0; i < out.length; i++) {
      String engine = candidates.get(i).id();
      out[i] =
          followsEvents.test(engine)
              ? Math.max(
                  precise.of(engine),
                  approximate.prefixDepth(engine, keys, keys.length, now, SPECULATIVE_NANOS))
              : approximate.prefixDepth(engine, keys, keys.length, now);
    }
    return out;
  }
}
