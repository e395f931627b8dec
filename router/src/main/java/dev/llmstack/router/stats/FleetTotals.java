package dev.llmstack.router.stats;

import java.util.concurrent.atomic.LongAdder;

/**
 * Fleet-wide running totals for the dashboard's once-a-second sample, kept beside the Prometheus
 * series rather than read back from them. Reading them back meant building a snapshot of every
 * series (labels sorted and validated, buckets copied) each second: about 0.7 ms on the sampler
 * thread through a router's first minutes, while that code was still interpreted, on a core the
 * proxy's event loop may share (DashboardTotalsBenchmark). These are a few adders the data path
 * bumps and the sampler sums: 1.8 µs interpreted.
 *
 * <p>They only grow, even when an engine leaves and its series go: the dashboard turns differences
 * into rates.
 */
final class FleetTotals {

  final LongAdder requests = new LongAdder();
  final LongAdder errors = new LongAdder();
  final LongAdder promptTokens = new LongAdder();
  final LongAdder generationTokens = new LongAdder();
  final BucketCounts ttft;
  final BucketCounts itl;

  FleetTotals(double[] ttftBounds, double[] itlBounds) {
    ttft = new BucketCounts(ttftBounds);
    itl = new BucketCounts(itlBounds);
  }

  void finished(int status, long promptTok, long completionTok) {
    requests.increment();
    if (status < 200 || status >= 300) {
      errors.increment();
    }
    if (promptTok > 0) {
      promptTokens.add(promptTok);
    }
    if (completionTok > 0) {
      generationTokens.add(completionTok);
    }
  }

  RouterMetrics.Totals snapshot() {
    return new RouterMetrics.Totals(
        requests.sum(),
        errors.sum(),
        generationTokens.sum(),
        promptTokens.sum(),
        ttft.snapshot(),
        itl.snapshot());
  }

  /**
   * Observations per bucket, Prometheus' classic buckets (a value goes to the first bound >= it).
   */
  static final class BucketCounts {
    private final double[] upper; // the bounds, then +Inf
    private final LongAdder[] counts;

    BucketCounts(double[] bounds) {
      upper = java.util.Arrays.copyOf(bounds, bounds.length + 1);
      upper[bounds.length] = Double.POSITIVE_INFINITY;
      counts = new LongAdder[upper.length];
      for (int i = 0; i < counts.length; i++) {
        counts[i] = new LongAdder();
      }
    }

    void observe(double value) {
      int last = upper.length - 1;
      int i = 0;
      while (i < last && !(value <= upper[i])) { // NaN goes to +Inf
        i++;
      }
      counts[i].increment();
    }

    RouterMetrics.Buckets snapshot() {
      long[] c = new long[counts.length];
      for (int i = 0; i < c.length; i++) {
        c[i] = counts[i].sum();
      }
      return new RouterMetrics.Buckets(upper.clone(), c);
    }
  }
}
