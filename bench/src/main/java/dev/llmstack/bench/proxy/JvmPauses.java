package dev.llmstack.bench.proxy;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A JVM's stop-the-world pauses so far, from its performance counters ({@code jcmd <pid>
 * PerfCounter.print}): collections and all safepoints (which include the collections). Read before
 * and after a run, the difference says how often the router's event loop stood still for its own
 * JVM during that run, and for how long in total.
 *
 * @param gcPauses collector pauses: every collector whose counter name says "pauses" (G1 and Serial
 *     count young and full ones apart, ZGC its cycles and their pauses apart)
 * @param gcMillis their total time
 * @param safepoints all safepoints: collections, deoptimizations and other VM operations
 * @param safepointMillis their total time, from the request to stop until the threads went on
 */
record JvmPauses(long gcPauses, double gcMillis, long safepoints, double safepointMillis) {

  static final JvmPauses NONE = new JvmPauses(0, 0, 0, 0);

  JvmPauses minus(JvmPauses o) {
    return new JvmPauses(
        gcPauses - o.gcPauses,
        gcMillis - o.gcMillis,
        safepoints - o.safepoints,
        safepointMillis - o.safepointMillis);
  }

  JvmPauses plus(JvmPauses o) {
    return new JvmPauses(
        gcPauses + o.gcPauses,
        gcMillis + o.gcMillis,
        safepoints + o.safepoints,
        safepointMillis + o.safepointMillis);
  }

  /**
   * The counters of JVM {@code pid}, read with the {@code jcmd} beside {@code java}; {@code null}
   * when there is no jcmd or it fails (the report then leaves the fields out).
   */
  static JvmPauses of(long pid, String java) {
    String counters = Jcmd.run(java, pid, "PerfCounter.print");
    return counters == null ? null : parse(counters);
  }

  /** Parses {@code PerfCounter.print} output; {@code null} when the counters are missing. */
  static JvmPauses parse(String counters) {
    Map<String, String> c = new HashMap<>();
    for (String line : counters.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        c.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
      }
    }
    String frequency = c.get("sun.os.hrt.frequency");
    String safepoints = c.get("sun.rt.safepoints");
    String safepointTime = c.get("sun.rt.safepointTime");
    if (frequency == null || safepoints == null || safepointTime == null) {
      return null;
    }
    double ticksPerMilli = Long.parseLong(frequency) / 1000.0;
    long gcPauses = 0;
    long gcTicks = 0;
    for (int i = 0; c.containsKey("sun.gc.collector." + i + ".name"); i++) {
      if (c.get("sun.gc.collector." + i + ".name").toLowerCase(Locale.ROOT).contains("pauses")) {
        gcPauses += Long.parseLong(c.get("sun.gc.collector." + i + ".invocations"));
        gcTicks += Long.parseLong(c.get("sun.gc.collector." + i + ".time"));
      }
    }
    return new JvmPauses(
        gcPauses,
        gcTicks / ticksPerMilli,
        Long.parseLong(safepoints),
        Long.parseLong(safepointTime) / ticksPerMilli);
  }
}
