package dev.llmstack.router.routing;

import dev.llmstack.router.backend.BackendSnapshot;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one cost model behind the cache-aware policies: an engine's cost is the prefill it would
 * still do (prompt tokens minus the cached prefix it is believed to hold) plus its load priced in
 * tokens ({@code tokensPerQueuedRequest} per request in flight or queued). Lowest cost wins; ties
 * rotate. With no hit anywhere this is least-loaded, so fresh prompts spread instead of piling on
 * one engine. Subclasses say where the cached prefix comes from.
 */
public abstract class PrefixCostPolicy implements CacheAwarePolicy {

  /**
   * Hits shorter than this are not credited. Every chat of a model shares its template's header
   * (Llama-3.1's system header with the dates fills a whole block), so a one-block "hit" says
   * nothing about where the conversation lives; crediting it would pile every fresh request onto
   * whichever engine saw the header first.
   */
  static final int MIN_CREDITED_BLOCKS = 4;

  private final int blockSize;
  private final double tokensPerQueuedRequest;

  /**
   * Hits covering less than this share of the prompt are not credited either. A short shared prefix
   * (a system prompt every conversation starts with) is cheap to recompute and soon cached
   * everywhere; crediting it would draw every new conversation to the engine that saw it first and
   * pile the cluster's conversations, and their KV cache, on one engine. A conversation's next turn
   * repeats most of its prompt and clears this easily. SGLang's cache-aware router uses the same
   * kind of threshold (its cache_threshold).
   */
  private final double minHitRatio;

  private final double pendingPrefillWeight;
  private final double loraWaitWeight;
  private final AtomicLong tieBreak = new AtomicLong();

  protected PrefixCostPolicy(int blockSize, CostWeights weights) {
    this.blockSize = blockSize;
    this.tokensPerQueuedRequest = weights.loadTokensPerRequest();
    this.minHitRatio = weights.minHitRatio();
    this.pendingPrefillWeight = weights.pendingPrefillWeight();
    this.loraWaitWeight = weights.loraWaitWeight();
  }

  /** The cached blocks the cost model credits: none for a hit too short to say anything. */
  private int credited(int depth, int promptTokens) {
    return depth < MIN_CREDITED_BLOCKS || (double) depth * blockSize < minHitRatio * promptTokens
        ? 0
        : depth;
  }

  /** For each candidate, in order, the leading blocks of {@code keys} believed cached on it. */
  protected abstract int[] cachedBlocks(
      RouteRequest request, List<BackendSnapshot> candidates, long[] keys);

  @Override
  public Decision pick(RouteRequest request, List<BackendSnapshot> candidates) {
    Decision d = choose(request, candidates);
    if (LOG.isLoggable(java.util.logging.Level.FINE)) {
      LOG.fine(() -> explain(request, candidates, d));
    }
    return d;
  }

  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger(PrefixCostPolicy.class.getName());

  /** Every candidate's cached prefix, load and cost: the debug log line of a decision. */
  private String explain(RouteRequest request, List<BackendSnapshot> candidates, Decision d) {
    StringBuilder sb = new StringBuilder(name()).append(" picked ").append(d.backend().id());
    long[] keys = request.blockKeys();
    int[] depths =
        keys == null ? new int[candidates.size()] : cachedBlocks(request, candidates, keys);
    for (int i = 0; i < candidates.size(); i++) {
      BackendSnapshot b = candidates.get(i);
      int depth = credited(depths[i], request.promptTokens());
      double cost = cost(request, b, keys, depth);
      sb.append(
          String.format(
              Locale.ROOT,
              " | %s cached=%d load=%.1f pending_prefill=%d%s cost=%.0f",
              b.id(),
              depth * blockSize,
              b.load(),
              b.pendingPrefillTokens(),
              b.loraSlotsFull(request.lora()) ? " lora_slots_full" : "",
              cost));
    }
    return sb.toString();
  }

  /**
   * What sending the request to {@code b} costs, in prefill tokens: the prompt less the prefill its
   * {@code depth} credited cached blocks save, plus the engine's load.
   */
  private double cost(RouteRequest request, BackendSnapshot b, long[] keys, int depth) {
    double saved = depth == 0 ? 0 : savedBlocks(request, b, keys, depth);
    return Math.max(0, request.promptTokens() - saved * blockSize) + loadCost(request, b);
  }

  /**
   * An engine's load in prefill tokens: requests it holds, and the prefill queued ahead. A LoRA
   * request at an engine whose adapter slots are all taken by other adapters cannot start until one
   * adapter's requests have all finished, and meanwhile the engine keeps admitting requests for the
   * adapters it runs: it waits, roughly, behind the engine's requests once more (at least one
   * request's worth). The pending prefill is not doubled: with long cached histories that would
   * outweigh the hit and move conversations away from their cache (measured in the twin).
   */
  private double loadCost(RouteRequest request, BackendSnapshot b) {
    double requests = tokensPerQueuedRequest * b.load();
    double load = requests + pendingPrefillWeight * b.pendingPrefillTokens();
    if (loraWaitWeight > 0 && b.loraSlotsFull(request.lora())) {
      load += loraWaitWeight * Math.max(tokensPerQueuedRequest, requests);
    }
    return load;
  }

  /**
   * Of a candidate's {@code depth} cached blocks, how many blocks of prefill they save: all of them
   * when they sit in GPU memory; policies that know tiers discount blocks in slower ones.
   */
  protected double savedBlocks(
      RouteRequest request, BackendSnapshot candidate, long[] keys, int depth) {
    return depth;
  }

  private Decision choose(RouteRequest request, List<BackendSnapshot> candidates) {
    long[] keys = request.blockKeys();
    int n = candidates.size();
    int[] depths = keys == null ? null : cachedBlocks(request, candidates, keys);
    int start = (int) Math.floorMod(tieBreak.getAndIncrement(), (long) n);
    BackendSnapshot best = null;
    double bestCost = Double.MAX_VALUE;
    int bestDepth = 0;
    for (int k = 0; k < n; k++) {
      int at = (start + k) % n;
      BackendSnapshot b = candidates.get(at);
      int depth = depths == null ? 0 : credited(depths[at], request.promptTokens());
      double cost = cost(request, b, keys, depth);
      if (cost < bestCost) {
        best = b;
        bestCost = cost;
        bestDepth = depth;
      }
    }
    String reason =
        String.format(
            Locale.ROOT,
            "%s=%d/%d,load=%s,cost=%.0f%s",
            bestDepth > 0 ? "hit" : "miss",
            bestDepth * blockSize,
            request.promptTokens(),
            LeastOutstandingPolicy.fmt(best.load()),
            bestCost,
            best.loraSlotsFull(request.lora()) ? ",lora_wait" : "");
    return new Decision(best, reason, keys == null ? -1 : bestDepth * blockSize);
  }
}
