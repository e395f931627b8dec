package dev.llmstack.app;

import dev.llmstack.bench.report.ReportWriter;
import dev.llmstack.bench.runner.HttpRunner;
import dev.llmstack.bench.runner.RunResult;
import dev.llmstack.bench.workload.WordVocabulary;
import dev.llmstack.protocol.tokenizer.ModelTokenizer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code llmstack bench}: drives any OpenAI-compatible endpoint (our router, a vLLM server, another
 * gateway) with a workload over real HTTP and writes a report; several targets run one after the
 * other and land side by side.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Sends a workload to an OpenAI-compatible endpoint over HTTP (streaming), measures TTFT, ITL,"
          + " TPOT, E2E, throughput and cache hits as vllm bench serve does, and writes"
          + " report.json, report.html and PNG charts to --out."
    })
final class BenchCommand implements Callable<Integer> {

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin WorkloadOptions workload;

  @Option(
      names = "--target",
      required = true,
      description = "Base URL of the endpoint, e.g. http://127.0.0.1:8080.")
  String target;

  @Option(
      names = "--compare",
      split = ",",
      description = "More base URLs to run the same workload against, one after the other.")
  List<String> compare = new ArrayList<>();

  @Option(names = "--model", description = "Model to ask for (default: the target's first).")
  String model;

  @Option(
      names = "--request-timeout",
      defaultValue = "600",
      description = "Seconds to wait for a response to start (default: ${DEFAULT-VALUE}).")
  int requestTimeout;

  @Option(
      names = "--duration",
      defaultValue = "0",
      description = "Stop sending after this many seconds (0: the whole workload).")
  double duration;

  @Option(names = "--out", required = true, description = "Report directory.")
  Path out;

  @Override
  public Integer call() throws Exception {
    workload.validate();
    List<String> targets = new ArrayList<>();
    targets.add(strip(target));
    compare.forEach(t -> targets.add(strip(t)));
    List<String> models = new ArrayList<>();
    for (String t : targets) {
      models.add(HttpRunner.resolveModel(t, model));
    }
    try (ModelTokenizer tokenizer = ModelTokenizer.forModel(models.get(0), workload.tokenizer)) {
      WordVocabulary words = WordVocabulary.of(tokenizer);
      List<Double> sweep = workload.sweep();
      for (double q : sweep) {
        var factory = workload.factory(q, words);
        List<RunResult> runs = new ArrayList<>();
        for (int i = 0; i < targets.size(); i++) {
          HttpRunner runner =
              new HttpRunner(
                  new HttpRunner.Target(
                      targets.get(i), models.get(i), Duration.ofSeconds(requestTimeout), duration),
                  words,
                  System.err);
          runs.add(runner.run(targets.get(i), factory.get()));
        }
        Path dir = sweep.size() > 1 ? out.resolve(String.format(Locale.ROOT, "qps-%s", q)) : out;
        Map<String, Object> desc = workload.describe(q);
        desc.put("model", models.get(0));
        List<Map<String, Object>> summaries =
            ReportWriter.write(
                dir,
                "llmstack bench: " + workload.workload,
                "llmstack " + String.join(" ", spec.commandLine().getParseResult().originalArgs()),
                desc,
                runs,
                workload.slo());
        printTable(summaries);
        System.out.println("report: " + dir.resolve("report.html"));
      }
    }
    return 0;
  }

  private static String strip(String url) {
    if (!url.startsWith("http://") && !url.startsWith("https://")) {
      throw new IllegalArgumentException("target must be an http(s) URL, got " + url);
    }
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }

  /** The headline figures of each run, one line each. */
  static void printTable(List<Map<String, Object>> runs) {
    System.out.printf(
        Locale.ROOT,
        "%-28s %8s %6s %9s %9s %9s %9s %10s %7s%n",
        "run",
        "requests",
        "errors",
        "TTFT p50",
        "TTFT p90",
        "TTFT p99",
        "ITL p50",
        "out tok/s",
        "cached");
    for (Map<String, Object> r : runs) {
      System.out.printf(
          Locale.ROOT,
          "%-28s %8d %6d %8.3fs %8.3fs %8.3fs %7.1fms %10.0f %7.3f%n",
          r.get("name"),
          ((Number) r.get("requests")).intValue(),
          ((Number) r.get("errors")).intValue(),
          num(r, "ttft_p50_s"),
          num(r, "ttft_p90_s"),
          num(r, "ttft_p99_s"),
          num(r, "itl_p50_s") * 1000,
          num(r, "output_tokens_per_s"),
          num(r, "cached_token_ratio"));
    }
  }

  private static double num(Map<String, Object> r, String k) {
    return ((Number) r.get(k)).doubleValue();
  }
}
