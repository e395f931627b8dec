package dev.llmstack.router.backend;

/** An engine as a routing policy sees it: immutable, taken at decision time. */
public record BackendSnapshot(
    String id,
    int inFlight,
    int awaitingFirstByte,
    EngineStats stats,
    HealthState health,
    boolean draining) {

  /** Load used by load-aware policies: router in-flight plus what the engine queues beyond it. */
  public double load() {
    return inFlight + Math.max(0, stats.waiting() - inFlight);
  }
}
