package dev.llmstack.router.backend;

/**
 * An engine as a routing policy sees it: immutable, taken at decision time.
 *
 * @param pendingPrefillTokens prompt tokens this router sent the engine that it has not started
 *     answering yet, minus what the router expected it to find cached: the prefill queued ahead of
 *     a new request
 * @param activeLoras LoRA adapters the engine is busy with (requests in flight or running there);
 *     with {@code stats.maxLoras()} of them, a request for another adapter waits for a free slot
 */
public record BackendSnapshot(
    String id,
    int inFlight,
    int awaitingFirstByte,
    EngineStats stats,
    HealthState health,
    boolean draining,
    long pendingPrefillTokens,
    java.util.Set<String> activeLoras) {

  public BackendSnapshot(
      String id,
      int inFlight,
      int awaitingFirstByte,
      EngineStats stats,
      HealthState health,
      boolean draining,
      long pendingPrefillTokens) {
    this(
        id,
        inFlight,
        awaitingFirstByte,
        stats,
        health,
        draining,
        pendingPrefillTokens,
        java.util.Set.of());
  }

  public BackendSnapshot(
      String id,
      int inFlight,
      int awaitingFirstByte,
      EngineStats stats,
      HealthState health,
      boolean draining) {
    this(id, inFlight, awaitingFirstByte, stats, health, draining, 0);
  }

  /**
   * Whether a request for LoRA adapter {@code lora} would wait here for an adapter slot: the
   * engine's batch already uses its max_loras adapters and none of them is this one (vLLM's
   * scheduler then skips the request until one adapter's requests have all finished).
   */
  public boolean loraSlotsFull(String lora) {
    int max = stats.maxLoras();
    return lora != null && max > 0 && activeLoras.size() >= max && !activeLoras.contains(lora);
  }

  /** Load used by load-aware policies: router in-flight plus what the engine queues beyond it. */
  public double load() {
    return inFlight + Math.max(0, stats.waiting() - inFlight);
  }
}
