package dev.llmstack.router.routing;

import dev.llmstack.router.backend.BackendSnapshot;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The engine with the fewest requests in flight from this router (plus what its last scrape says it
 * queues beyond them); ties go round-robin so equal engines share the load.
 */
public final class LeastOutstandingPolicy implements RoutingPolicy {

  private final AtomicLong tieBreak = new AtomicLong();

  @Override
  public String name() {
    return "least-outstanding";
  }

  @Override
  public Decision pick(RouteRequest request, List<BackendSnapshot> candidates) {
    int n = candidates.size();
    int start = (int) Math.floorMod(tieBreak.getAndIncrement(), (long) n);
    BackendSnapshot best = null;
    for (int k = 0; k < n; k++) {
      BackendSnapshot b = candidates.get((start + k) % n);
      if (best == null || b.load() < best.load()) {
        best = b;
      }
    }
    return new Decision(best, "load=" + fmt(best.load()));
  }

  static String fmt(double v) {
    return v == Math.rint(v)
        ? Long.toString((long) v)
        : String.format(java.util.Locale.ROOT, "%.1f", v);
  }
}
