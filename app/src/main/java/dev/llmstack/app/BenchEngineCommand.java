package dev.llmstack.app;

import dev.llmstack.bench.engine.EngineCapacityBench;
import dev.llmstack.bench.engine.VirtualTimeStepBench;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code llmstack bench-engine}: how much load one simulated engine carries, and how fast the twin
 * runs.
 */
@Command(
    name = "bench-engine",
    mixinStandardHelpOptions = true,
    description = {
      "Measures concurrent streams one simulated engine sustains per CPU core at a GPU profile's token"
          + " rate, and virtual-time scheduler steps per second. Writes JSON reports to --out."
    })
final class BenchEngineCommand implements Callable<Integer> {

  @Option(
      names = "--profile",
      defaultValue = "llama-3.1-8b@h100",
      description = "Profile (default: ${DEFAULT-VALUE}).")
  String profile;

  @Option(
      names = "--model",
      defaultValue = "meta-llama/Llama-3.1-8B-Instruct",
      description = "Served model name.")
  String model;

  @Option(
      names = "--levels",
      split = ",",
      defaultValue = "500,1000,2000,3000",
      description = "Concurrent stream counts to try (default: ${DEFAULT-VALUE}).")
  List<Integer> levels;

  @Option(
      names = "--window",
      defaultValue = "10",
      description = "Measuring window per level, seconds.")
  int window;

  @Option(
      names = "--virtual-seconds",
      defaultValue = "3600",
      description = "Virtual time the step benchmark simulates (default: ${DEFAULT-VALUE}).")
  int virtualSeconds;

  @Option(names = "--engines", defaultValue = "8", description = "Engines in the virtual-time run.")
  int engines;

  @Option(names = "--skip-capacity", description = "Only run the virtual-time step benchmark.")
  boolean skipCapacity;

  @Option(names = "--no-pin", description = "Do not pin the engine process to one core.")
  boolean noPin;

  @Option(
      names = "--out",
      defaultValue = "docs/benchmarks/engine",
      description = "Report directory.")
  Path out;

  @Override
  public Integer call() throws Exception {
    for (int n : levels) {
      if (n <= 0) {
        throw new IllegalArgumentException("--levels must be positive");
      }
    }
    Files.createDirectories(out);
    new VirtualTimeStepBench(profile, engines, virtualSeconds, out).run();
    if (!skipCapacity) {
      Path jar =
          Path.of(
              BenchEngineCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      new EngineCapacityBench(
              new EngineCapacityBench.Settings(
                  jar, profile, model, levels, window, 24, out, !noPin))
          .run();
    }
    return 0;
  }
}
