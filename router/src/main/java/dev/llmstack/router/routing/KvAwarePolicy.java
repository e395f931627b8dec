package dev.llmstack.router.routing;

import dev.llmstack.router.backend.BackendSnapshot;
import dev.llmstack.router.kvindex.KvBlockIndex;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sends a request where its prefix is already cached, without piling work on one engine: the cost
 * of an engine is the prefill it would still have to do (prompt tokens minus the leading blocks the
 * precise KV index says it holds) plus its current load, priced in tokens ({@code
 * tokensPerQueuedRequest} per request in flight or waiting). Lowest cost wins; with no hit anywhere
 * this reduces to least-loaded, so fresh prompts spread.
 */
public final class KvAwarePolicy implements CacheAwarePolicy {

  private final KvBlockIndex index;
  private final double tokensPerQueuedRequest;
  private final AtomicLong tieBreak = new AtomicLong();

  public KvAwarePolicy(KvBlockIndex index, double tokensPerQueuedRequest) {
    this.index = index;
    this.tokensPerQueuedRequest = tokensPerQueuedRequest;
  }

  @Override
  public String name() {
    return "kv";
  }

  @Override
  public Decision pick(RouteRequest request, List<BackendSnapshot> candidates) {
    long[] keys = request.blockKeys();
    int blockSize = index.hasher().blockSize();
    int n = candidates.size();
    int start = (int) Math.floorMod(tieBreak.getAndIncrement(), (long) n);
    BackendSnapshot best = null;
    double bestCost = Double.MAX_VALUE;
    int bestDepth = 0;
    for (int k = 0; k < n; k++) {
      BackendSnapshot b = candidates.get((start + k) % n);
      int depth = keys == null ? 0 : index.prefixDepth(b.id(), keys, keys.length);
      double prefill = Math.max(0, request.promptTokens() - depth * blockSize);
      double cost = prefill + tokensPerQueuedRequest * b.load();
      if (cost < bestCost) {
        best = b;
        bestCost = cost;
        bestDepth = depth;
      }
    }
    String reason =
        String.format(
            Locale.ROOT,
            "%s=%d/%d,load=%s,cost=%.0f",
            bestDepth > 0 ? "hit" : "miss",
            bestDepth * blockSize,
            request.promptTokens(),
            LeastOutstandingPolicy.fmt(best.load()),
            bestCost);
    return new Decision(best, reason);
  }
}
