package dev.llmstack.router.backend;

/**
 * An engine as a routing policy sees it: immutable, taken at decision time.
 *
 * @param pendingPrefillTokens prompt tokens this router sent the engine that it has not started
 *     answering yet, minus what the router expected it to find cached: the prefill queued ahead of
 *     a new request
 */
public record BackendSnapshot(
    String id,
    int inFlight,
    int awaitingFirstByte,
    EngineStats stats,
    HealthState health,
    boolean draining,
    long pendingPrefillTokens) {

  public BackendSnapshot(
      String id,
      int inFlight,
      int awaitingFirstByte,
      EngineStats stats,
      HealthState health,
      boolean draining) {
    this(id, inFlight, awaitingFirstByte, stats, health, draining, 0);
  }

  /** Load used by load-aware policies: router in-flight plus what the engine queues beyond it. */
  public double load() {
    return inFlight + Math.max(0, stats.waiting() - inFlight);
  }
}
