package dev.llmstack.bench.proxy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * CPU seconds a set of processes used so far, split by the kind of thread that used them: for a
 * JVM, the event loops that serve requests apart from the JIT compiler and the garbage collector,
 * which a short benchmark would otherwise charge to the requests. Read from {@code
 * /proc/<pid>/task/<tid>/stat} (thread names from {@code comm}); where there is no /proc, only a
 * process total. Threads that ended since the last reading drop out, so read it around windows in
 * which no thread of interest ends.
 */
record ProcessCpu(TreeMap<String, Double> seconds) {

  static final String EVENT_LOOP = "event_loop";
  static final String JIT = "jit";
  static final String GC = "gc";
  static final String OTHER = "other";

  /** Clock ticks per second of /proc's stat times (USER_HZ, 100 on Linux). */
  private static final double TICKS = 100.0;

  static ProcessCpu of(List<ProcessHandle> processes) {
    TreeMap<String, Double> out = new TreeMap<>();
    for (ProcessHandle p : processes) {
      Path tasks = Path.of("/proc", Long.toString(p.pid()), "task");
      if (!Files.isDirectory(tasks)) {
        double total = p.info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(0.0);
        out.merge(OTHER, total, Double::sum);
        continue;
      }
      try (Stream<Path> threads = Files.list(tasks)) {
        for (Path t : threads.toList()) {
          try {
            String comm = Files.readString(t.resolve("comm")).strip();
            String stat = Files.readString(t.resolve("stat"));
            // Fields after the ")" closing the name: state is field 3, utime 14, stime 15.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            double s = (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS;
            out.merge(kind(comm), s, Double::sum);
          } catch (IOException | RuntimeException threadGone) {
            // the thread ended between the listing and the read
          }
        }
      } catch (IOException processGone) {
        // nothing to add
      }
    }
    return new ProcessCpu(out);
  }

  /** The kind of a thread, from its (15-character) name. */
  static String kind(String comm) {
    if (comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre")) {
      return JIT;
    }
    if (comm.startsWith("GC Thread")
        || comm.startsWith("G1 ")
        || comm.startsWith("ZWorker")
        || comm.startsWith("ZDriver")) {
      return GC;
    }
    // Netty names its threads after the group class: multiThreadIoEventLoopGroup-2-1 and the like.
    if (comm.contains("EventLoop") || comm.startsWith("multiThread")) {
      return EVENT_LOOP;
    }
    return OTHER;
  }

  double total() {
    return seconds.values().stream().mapToDouble(Double::doubleValue).sum();
  }

  double get(String kind) {
    return seconds.getOrDefault(kind, 0.0);
  }

  /** What was used since {@code before}. */
  ProcessCpu minus(ProcessCpu before) {
    TreeMap<String, Double> d = new TreeMap<>(seconds);
    before.seconds.forEach((k, v) -> d.merge(k, -v, Double::sum));
    return new ProcessCpu(d);
  }

  ProcessCpu plus(ProcessCpu other) {
    TreeMap<String, Double> d = new TreeMap<>(seconds);
    other.seconds.forEach((k, v) -> d.merge(k, v, Double::sum));
    return new ProcessCpu(d);
  }

  static ProcessCpu zero() {
    return new ProcessCpu(new TreeMap<>());
  }
}
