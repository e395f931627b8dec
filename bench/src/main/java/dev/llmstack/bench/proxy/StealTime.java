package dev.llmstack.bench.proxy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Time the hypervisor ran something else while a core wanted to run ("steal" in /proc/stat): the
 * part of a VM's stalls its kernel gets told about. Read around a latency run's counted window, it
 * says how much of that window the machine took from the proxy's core, whoever the proxy was.
 */
final class StealTime {

  private static final Path PROC_STAT = Path.of("/proc/stat");
  private static final long MILLIS_PER_TICK = 10; // USER_HZ is 100 on Linux

  private StealTime() {}

  /**
   * Steal of core {@code cpu} (all cores when negative) in milliseconds, from a /proc/stat text; -1
   * when the line or its steal column is missing.
   */
  static long millis(String procStat, int cpu) {
    String name = cpu < 0 ? "cpu" : "cpu" + cpu;
    for (String line : procStat.split("\n")) {
      String[] f = line.trim().split("\\s+");
      // name user nice system idle iowait irq softirq steal ...
      if (f.length > 8 && f[0].equals(name)) {
        return Long.parseLong(f[8]) * MILLIS_PER_TICK;
      }
    }
    return -1;
  }

  static long millis(int cpu) {
    try {
      return millis(Files.readString(PROC_STAT), cpu);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * Starts watching the window that begins {@code delayMillis} from now and lasts {@code
   * windowMillis}; the result is the steal within it (10 ms resolution), or -1 if unknown.
   */
  static CompletableFuture<Long> window(int cpu, long delayMillis, long windowMillis) {
    CompletableFuture<Long> result = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                TimeUnit.MILLISECONDS.sleep(delayMillis);
                long before = millis(cpu);
                TimeUnit.MILLISECONDS.sleep(windowMillis);
                long after = millis(cpu);
                result.complete(before < 0 || after < 0 ? -1 : after - before);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                result.complete(-1L);
              }
            });
    return result;
  }
}
