package dev.llmstack.router.ui;

import dev.llmstack.router.proxy.RouterObserver;
import dev.llmstack.router.routing.Decision;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The most recent routing decisions, for the dashboard. It sits on the request path, so a decision
 * costs one small record, one atomic increment and one array store: no lock, no queue; readers copy
 * the ring when they want it, once a second. A writer lapped mid-read only means an entry shows the
 * newer decision, which is fine for a view.
 */
public final class DecisionLog implements RouterObserver {

  /** One decision as the dashboard shows it. */
  public record Entry(
      long epochMillis,
      String requestId,
      String model,
      String policy,
      String engine,
      String reason,
      boolean retry) {}

  private final AtomicReferenceArray<Entry> ring;
  private final int mask;
  private final AtomicLong next = new AtomicLong();

  /** {@code capacity} is rounded up to a power of two. */
  public DecisionLog(int capacity) {
    int size = Integer.highestOneBit(Math.max(2, capacity - 1)) << 1;
    ring = new AtomicReferenceArray<>(size);
    mask = size - 1;
  }

  @Override
  public void routed(
      String requestId, String model, String policy, Decision decision, boolean retry) {
    Entry e =
        new Entry(
            System.currentTimeMillis(),
            requestId,
            model,
            policy,
            decision.backend().id(),
            decision.reason(),
            retry);
    ring.lazySet((int) (next.getAndIncrement() & mask), e);
  }

  /** Decisions ever recorded. */
  public long count() {
    return next.get();
  }

  /** Up to {@code max} most recent decisions, newest first. */
  public List<Entry> recent(int max) {
    long end = next.get();
    int n = (int) Math.min(Math.min(max, mask + 1), end);
    List<Entry> out = new ArrayList<>(n);
    for (long i = end - 1; i >= end - n; i--) {
      Entry e = ring.get((int) (i & mask));
      if (e != null) {
        out.add(e);
      }
    }
    return out;
  }
}
