package dev.llmstack.bench.report;

import java.util.Arrays;

/**
 * Percentiles as numpy computes them by default (linear between closest ranks), as vLLM's bench.
 */
public final class Percentiles {

  private final double[] sorted;

  public Percentiles(double[] values) {
    this.sorted = values.clone();
    Arrays.sort(sorted);
  }

  public int count() {
    return sorted.length;
  }

  /** The {@code p}-th percentile (0..100); 0 when there are no values. */
  public double at(double p) {
    if (sorted.length == 0) {
      return 0;
    }
    double pos = p / 100.0 * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
  }

  public double mean() {
    if (sorted.length == 0) {
      return 0;
    }
    double s = 0;
    for (double v : sorted) {
      s += v;
    }
    return s / sorted.length;
  }

  /** The values in ascending order (for CDF charts). */
  public double[] sorted() {
    return sorted.clone();
  }
}
