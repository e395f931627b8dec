package dev.llmstack.app;

import dev.llmstack.bench.proxy.ProxyBench;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code llmstack bench-router}: the router against nginx over the same stub backends. */
@Command(
    name = "bench-router",
    mixinStandardHelpOptions = true,
    description = {
      "Measures the router against nginx (round-robin over the same fast stub backends, same machine, same"
          + " load generator): saturation requests/s, p99 added at half load, peak RSS."
    })
final class BenchRouterCommand implements Callable<Integer> {

  @Option(names = "--seconds", defaultValue = "6", description = "Length of each measurement.")
  int seconds;

  @Option(
      names = "--threads",
      defaultValue = "1",
      description = "Event-loop threads / nginx workers each.")
  int threads;

  @Option(
      names = "--repeats",
      defaultValue = "3",
      description =
          "Saturation and open-loop latency runs per target, interleaved; the report gives the"
              + " median of the runs.")
  int repeats;

  @Option(
      names = "--warmup-seconds",
      defaultValue = "60",
      description =
          "Closed-loop warm-up of every target with every scenario before anything is measured"
              + " (the JVMs compile their hot code meanwhile). A router warmed 10 s per target and"
              + " scenario still compiled 60-85 methods in a 6-s latency window, one warmed 60 s"
              + " three.")
  int warmupSeconds;

  @Option(
      names = "--load-fraction",
      defaultValue = "0.5",
      description =
          "Open-loop latency runs at this fraction of nginx's saturation rate, the same rate for"
              + " every target (default: half).")
  double loadFraction;

  @Option(
      names = "--timeline",
      description =
          "Also write every latency run's requests (send time, latency) as CSV under <out>/timeline"
              + " and count its spells of requests 5 ms slower than its median.")
  boolean timeline;

  @Option(
      names = "--slice-ms",
      defaultValue = "100",
      description =
          "Open-loop latency runs load all three targets (direct, router, nginx) at once, each in"
              + " its own slices of this many milliseconds in turn, so that every target meets the"
              + " same spells of the machine's noise (streams: slices of at least 1000 ms). 0 runs"
              + " the targets one after another instead.")
  int sliceMs;

  @Option(names = "--nginx", defaultValue = "/usr/sbin/nginx", description = "nginx binary.")
  String nginx;

  @Option(
      names = "--pin",
      description =
          "Give the proxy under test the last core alone and the load generator core 0 (taskset).")
  boolean pin;

  @Option(
      names = "--scenario",
      split = ",",
      description =
          "Scenarios to run: small-json, sse-stream-10x5ms (default: both). One alone halves the"
              + " run, e.g. for a profile of the small-JSON path.")
  List<String> scenarios = ProxyBench.Settings.SCENARIOS;

  @Option(
      names = "--out",
      defaultValue = "docs/benchmarks/router",
      description = "Report directory.")
  Path out;

  @Override
  public Integer call() throws Exception {
    if (seconds <= 0 || threads <= 0 || repeats <= 0 || warmupSeconds < 0 || sliceMs < 0) {
      throw new IllegalArgumentException(
          "--seconds, --threads and --repeats must be positive, --warmup-seconds and --slice-ms"
              + " not negative");
    }
    if (!(loadFraction > 0 && loadFraction <= 1)) {
      throw new IllegalArgumentException("--load-fraction must be in (0, 1]");
    }
    if (scenarios.isEmpty() || !ProxyBench.Settings.SCENARIOS.containsAll(scenarios)) {
      throw new IllegalArgumentException(
          "--scenario takes " + String.join(", ", ProxyBench.Settings.SCENARIOS));
    }
    Path jar =
        Path.of(
            BenchRouterCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    new ProxyBench(
            new ProxyBench.Settings(
                jar,
                out,
                seconds,
                threads,
                nginx,
                pin,
                repeats,
                warmupSeconds,
                timeline,
                loadFraction,
                Set.copyOf(scenarios),
                sliceMs))
        .run();
    return 0;
  }
}
