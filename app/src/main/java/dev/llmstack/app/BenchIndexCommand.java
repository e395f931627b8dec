package dev.llmstack.app;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code llmstack bench-index}: the JMH benchmark of the precise KV index at fleet scale. */
@Command(
    name = "bench-index",
    mixinStandardHelpOptions = true,
    description = "Runs the JMH benchmark of the KV index (1,000 engines, 10M blocks).")
final class BenchIndexCommand implements Callable<Integer> {

  @Option(
      names = "--out",
      defaultValue = "docs/benchmarks/kv-index/jmh.json",
      description = "JMH JSON result.")
  String out;

  @Override
  public Integer call() throws Exception {
    return runJmh("dev.llmstack.bench.jmh.KvIndexBenchmark", out);
  }

  /** Runs one JMH benchmark class in this JVM's class path and writes its JSON result to out. */
  static int runJmh(String benchmark, String out, String... jmhArgs) throws Exception {
    java.nio.file.Path p = java.nio.file.Path.of(out);
    if (p.getParent() != null) {
      java.nio.file.Files.createDirectories(p.getParent());
    }
    java.util.List<String> args =
        new java.util.ArrayList<>(java.util.List.of(benchmark, "-rf", "json", "-rff", out));
    args.addAll(java.util.List.of(jmhArgs));
    org.openjdk.jmh.Main.main(args.toArray(String[]::new));
    return 0;
  }
}
