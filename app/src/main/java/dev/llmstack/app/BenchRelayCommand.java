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
            + " stream.")
final class BenchRelayCommand implements Callable<Integer> {

  @Option(
      names = "--out",
      defaultValue = "docs/benchmarks/router/relay-jmh.json",
      description = "JMH JSON result.")
  String out;

  @Override
  public Integer call() throws Exception {
    return BenchIndexCommand.runJmh("dev.llmstack.router.proxy.RelayBenchmark", out);
  }
}
