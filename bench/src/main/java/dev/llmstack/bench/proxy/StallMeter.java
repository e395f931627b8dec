package dev.llmstack.bench.proxy;

import java.util.Locale;

/**
 * How often this machine takes a core away from a running thread, and for how long: a thread spins
 * reading the clock and records every gap between two reads (a small jHiccup). On a quiet machine
 * the gaps are microseconds; a virtual machine whose host deschedules it, or a kernel busy with
 * interrupts, shows gaps of milliseconds, and every request in flight at that moment waits as long
 * whatever proxy serves it. {@code bench-router} runs one meter per core once its targets have
 * stopped, so a report says what tail latency this machine allows at all.
 *
 * <p>Run as {@code java -cp llmstack.jar dev.llmstack.bench.proxy.StallMeter <millis>}; prints one
 * JSON object.
 */
public final class StallMeter {

  /** Gap thresholds, in microseconds: a gap longer than each is counted under it. */
  static final long[] THRESHOLDS_MICROS = {100, 500, 1_000, 2_000, 5_000, 10_000};

  /** Gaps shorter than this are the loop itself, not a stall. */
  private static final long MIN_STALL_NANOS = 50_000;

  /** What one meter saw: gaps over each threshold, the longest, and the time stalls took. */
  public record Stalls(long millis, long[] over, long maxMicros, long lostMicros) {

    /** Accounts one gap between two clock reads. */
    static void add(long gapNanos, long[] over, long[] maxAndLost) {
      if (gapNanos < MIN_STALL_NANOS) {
        return;
      }
      long micros = gapNanos / 1000;
      for (int i = 0; i < THRESHOLDS_MICROS.length; i++) {
        if (micros > THRESHOLDS_MICROS[i]) {
          over[i]++;
        }
      }
      maxAndLost[0] = Math.max(maxAndLost[0], micros);
      maxAndLost[1] += micros;
    }

    String toJson() {
      StringBuilder sb = new StringBuilder("{\"millis\":").append(millis);
      for (int i = 0; i < THRESHOLDS_MICROS.length; i++) {
        sb.append(",\"over_").append(THRESHOLDS_MICROS[i]).append("us\":").append(over[i]);
      }
      return sb.append(String.format(Locale.ROOT, ",\"max_ms\":%.3f", maxMicros / 1000.0))
          .append(String.format(Locale.ROOT, ",\"lost_ms\":%.3f}", lostMicros / 1000.0))
          .toString();
    }
  }

  private StallMeter() {}

  /**
   * A meter's own JVM compiles its loop in its first moments, on the core it measures: a first
   * round this long is thrown away.
   */
  private static final long SETTLE_MILLIS = 500;

  /** Spins on the calling thread for {@code millis}. */
  public static Stalls measure(long millis) {
    long[] over = new long[THRESHOLDS_MICROS.length];
    long[] maxAndLost = new long[2];
    long last = System.nanoTime();
    long end = last + millis * 1_000_000;
    while (last < end) {
      long now = System.nanoTime();
      Stalls.add(now - last, over, maxAndLost);
      last = now;
    }
    return new Stalls(millis, over, maxAndLost[0], maxAndLost[1]);
  }

  public static void main(String[] args) {
    measure(SETTLE_MILLIS);
    System.out.println(measure(Long.parseLong(args[0])).toJson());
  }
}
