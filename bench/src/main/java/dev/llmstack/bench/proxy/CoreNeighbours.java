package dev.llmstack.bench.proxy;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Set;

/**
 * What else a machine may run on the proxy's core: tasks allowed there and on other cores too (the
 * ones the scheduler can put there at any moment; per-core kernel threads excluded) and interrupts
 * delivered there. With {@code --pin}, the direct baseline never touches that core, so these show
 * up as latency added by whichever proxy is measured; {@code scripts/quiet-core.sh on} moves them.
 * Also the machine's kernel threads by name (DAMON's kdamonds, which it stops).
 */
final class CoreNeighbours {

  private CoreNeighbours() {}

  /** Tasks and interrupts that share {@code core}, outside the processes in {@code ownPids}. */
  record Count(int tasks, int interrupts) {}

  /** The cores in a Linux cpu list such as "0-3,6" ({@code Cpus_allowed_list}, cpu/online). */
  static BitSet parseList(String list) {
    BitSet cores = new BitSet();
    for (String part : list.trim().split(",")) {
      if (part.isEmpty()) {
        continue;
      }
      int dash = part.indexOf('-');
      int from = Integer.parseInt(dash < 0 ? part : part.substring(0, dash));
      int to = dash < 0 ? from : Integer.parseInt(part.substring(dash + 1));
      cores.set(from, to + 1);
    }
    return cores;
  }

  /**
   * The machine's online cores, whatever this process's affinity: a harness started on a quieted
   * core set still sees the core it gives the proxy. Falls back to the cores this JVM may use.
   */
  static int onlineCores() {
    try {
      return parseList(Files.readString(Path.of("/sys/devices/system/cpu/online"))).cardinality();
    } catch (IOException | RuntimeException e) {
      return Runtime.getRuntime().availableProcessors();
    }
  }

  /** Processes (kernel threads included) whose name starts with {@code prefix}. */
  static int processesNamed(String prefix) {
    int n = 0;
    try (var dirs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path d : dirs) {
        try {
          n += Files.readString(d.resolve("comm")).startsWith(prefix) ? 1 : 0;
        } catch (IOException e) {
          // gone since
        }
      }
    } catch (IOException e) {
      return 0; // no /proc: not Linux
    }
    return n;
  }

  /** Whether a task allowed on {@code allowed} may share {@code core} with others' work. */
  static boolean shares(BitSet allowed, int core) {
    return allowed.get(core) && allowed.cardinality() > 1;
  }

  static Count of(int core, Set<Long> ownPids) {
    int tasks = 0;
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path proc : procs) {
        if (ownPids.contains(Long.parseLong(proc.getFileName().toString()))) {
          continue;
        }
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(proc.resolve("task"))) {
          for (Path thread : threads) {
            String allowed = allowedList(thread.resolve("status"));
            if (allowed != null && shares(parseList(allowed), core)) {
              tasks++;
            }
          }
        } catch (IOException | RuntimeException e) {
          // exited meanwhile
        }
      }
    } catch (IOException e) {
      return new Count(-1, -1);
    }
    int interrupts = 0;
    try (DirectoryStream<Path> irqs = Files.newDirectoryStream(Path.of("/proc/irq"), "[0-9]*")) {
      for (Path irq : irqs) {
        try {
          String effective = Files.readString(irq.resolve("effective_affinity_list")).trim();
          if (!effective.isEmpty() && parseList(effective).get(core)) {
            interrupts++;
          }
        } catch (IOException | RuntimeException e) {
          // no such file on this kernel
        }
      }
    } catch (IOException e) {
      interrupts = -1;
    }
    return new Count(tasks, interrupts);
  }

  /** The {@code Cpus_allowed_list} of a task's /proc status file, or null without one. */
  static String allowedList(Path status) throws IOException {
    for (String line : Files.readAllLines(status)) {
      if (line.startsWith("Cpus_allowed_list:")) {
        return line.substring(line.indexOf(':') + 1);
      }
    }
    return null;
  }
}
