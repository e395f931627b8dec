package dev.llmstack.router.backend;

/**
 * Passive outlier ejection: {@code consecutiveFailures} failures in a row eject an engine for a
 * backoff that doubles with each ejection (up to {@code maxBackoffNanos}); it then returns on
 * probation.
 */
public record OutlierPolicy(int consecutiveFailures, long baseBackoffNanos, long maxBackoffNanos) {

  public static final OutlierPolicy DEFAULT = new OutlierPolicy(3, 2_000_000_000L, 60_000_000_000L);

  public long backoffNanos(int previousEjections) {
    long b = baseBackoffNanos << Math.min(previousEjections, 20);
    return Math.min(b, maxBackoffNanos);
  }
}
