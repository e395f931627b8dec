package dev.llmstack.app;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code llmstack bench-relay}: the JMH benchmark of the router's request and response paths. */
@Command(
    name = "bench-relay",
    mixinStandardHelpOptions = true,
    description =
        "Runs the JMH benchmark of the router's request and response paths: byte framing against"
            + " Netty's decode and re-encode, for a client request, a small JSON answer and an SSE"
            + " stream, and the read of a request body's routing fields; time and bytes allocated"
            + " per operation.")
final class BenchRelayCommand implements Callable<Integer> {

  @Option(
      names = "--out",
      defaultValue = "docs/benchmarks/router/relay-jmh.json",
      description = "JMH JSON result.")
  String out;

  @Override
  public Integer call() throws Exception {
    // with JMH's allocation profiler: bytes per operation are the other half of a hot path's cost
    return BenchIndexCommand.runJmh("dev.llmstack.router.proxy.RelayBenchmark", out, "-prof", "gc");
  }
}
