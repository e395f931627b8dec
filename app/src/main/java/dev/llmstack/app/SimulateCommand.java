package dev.llmstack.app;

import dev.llmstack.bench.report.ReportWriter;
import dev.llmstack.bench.runner.RunResult;
import dev.llmstack.bench.sim.Twin;
import dev.llmstack.bench.workload.WordVocabulary;
import dev.llmstack.engine.perf.Profile;
import dev.llmstack.engine.perf.Profiles;
import dev.llmstack.protocol.tokenizer.ModelTokenizer;
import java.nio.file.Path;
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
 * {@code llmstack simulate}: the capacity-planning twin. Runs a workload against N simulated
 * engines in virtual time with the router's own policy code, once per policy, and writes the same
 * report as {@code llmstack bench}.
 */
@Command(
    name = "simulate",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a workload against N simulated engines in virtual time, routed by each of --policies,"
          + " and writes report.json, report.html and PNG charts to --out."
    })
final class SimulateCommand implements Callable<Integer> {

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Mixin WorkloadOptions workload;

  @Option(
      names = "--engines",
      defaultValue = "4",
      description = "Engines (default: ${DEFAULT-VALUE}).")
  int engines;

  @Option(
      names = "--profile",
      defaultValue = "llama-3.1-8b@h100",
      description = "GPU x model profile of every engine (default: ${DEFAULT-VALUE}).")
  String profile;

  @Option(
      names = "--model",
      defaultValue = "meta-llama/Llama-3.1-8B-Instruct",
      description = "Model name (picks the tokenizer).")
  String model;

  @Option(
      names = "--policies",
      split = ",",
      defaultValue = "round-robin,least-outstanding,session,prefix,kv,oracle",
      description = "Routing policies to compare (default: ${DEFAULT-VALUE}).")
  List<String> policies;

  @Mixin CpuOffloadOption cpuOffload;

  @Option(
      names = "--max-loras",
      defaultValue = "0",
      description =
          "LoRA adapters one engine batch may use at most, as vLLM's --max-loras (0: no limit; use"
              + " with --loras).")
  int maxLoras;

  @Option(
      names = "--scrape-interval",
      defaultValue = "1.0",
      description =
          "Seconds between the router's engine-metric scrapes (default: ${DEFAULT-VALUE}).")
  double scrapeInterval;

  @Option(
      names = "--duration",
      defaultValue = "0",
      description = "Stop sending after this many virtual seconds (0: the whole workload).")
  double duration;

  @Mixin CostWeightOptions costWeights;

  @Option(names = "--out", required = true, description = "Report directory.")
  Path out;

  @Override
  public Integer call() throws Exception {
    workload.validate();
    if (engines <= 0) {
      throw new IllegalArgumentException("--engines must be positive, got " + engines);
    }
    if (maxLoras < 0) {
      throw new IllegalArgumentException("--max-loras must not be negative, got " + maxLoras);
    }
    List<String> known = Twin.policyNames();
    for (String p : policies) {
      if (!known.contains(p)) {
        throw new IllegalArgumentException(
            "unknown policy " + p + " (known: " + String.join(", ", known) + ")");
      }
    }
    Profile prof = Profiles.load(profile);
    try (ModelTokenizer tokenizer = ModelTokenizer.forModel(model, workload.tokenizer)) {
      WordVocabulary words = WordVocabulary.of(tokenizer);
      Twin twin =
          new Twin(
              new Twin.Settings(
                  prof,
                  engines,
                  model,
                  scrapeInterval,
                  duration,
                  costWeights.weights(),
                  cpuOffload.gib,
                  maxLoras),
              tokenizer,
              words);
      List<Double> sweep = workload.sweep();
      for (double q : sweep) {
        var factory = workload.factory(q, words);
        List<RunResult> runs = new ArrayList<>();
        for (String policy : policies) {
          RunResult r = twin.run(policy, factory.get());
          runs.add(r);
          System.err.printf(
              Locale.ROOT,
              "%s: %d requests in %.0f virtual s (%.1f s wall)%n",
              policy,
              r.records().size(),
              (double) r.extra().get("virtual_seconds"),
              (double) r.extra().get("wall_seconds"));
        }
        Path dir = sweep.size() > 1 ? out.resolve(String.format(Locale.ROOT, "qps-%s", q)) : out;
        Map<String, Object> desc = workload.describe(q);
        desc.put("engines", engines);
        desc.put("profile", profile);
        List<Map<String, Object>> summaries =
            ReportWriter.write(
                dir,
                "llmstack simulate: " + workload.workload + " on " + engines + " x " + profile,
                "llmstack " + String.join(" ", spec.commandLine().getParseResult().originalArgs()),
                desc,
                runs,
                workload.slo());
        BenchCommand.printTable(summaries);
        System.out.println("report: " + dir.resolve("report.html"));
      }
    }
    return 0;
  }
}
