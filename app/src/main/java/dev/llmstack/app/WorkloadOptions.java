package dev.llmstack.app;

import dev.llmstack.bench.report.Slo;
import dev.llmstack.bench.workload.LoraMix;
import dev.llmstack.bench.workload.MooncakeTrace;
import dev.llmstack.bench.workload.MultiRoundQa;
import dev.llmstack.bench.workload.SyntheticWorkload;
import dev.llmstack.bench.workload.WordVocabulary;
import dev.llmstack.bench.workload.Workload;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine.Option;

/** The workload flags {@code llmstack bench} and {@code llmstack simulate} share. */
final class WorkloadOptions {

  @Option(
      names = "--workload",
      defaultValue = "multi-round-qa",
      description = "multi-round-qa, mooncake or synthetic (default: ${DEFAULT-VALUE}).")
  String workload;

  @Option(
      names = "--trace",
      description = "Mooncake trace file (JSON lines; default ../shared/traces/ when present).")
  Path trace;

  @Option(
      names = "--time-scale",
      defaultValue = "1.0",
      description = "Trace timestamps are multiplied by this: 0.5 replays twice as fast.")
  double timeScale;

  @Option(
      names = "--max-requests",
      defaultValue = "0",
      description = "Replay only the first N trace lines (0: all).")
  int maxRequests;

  @Option(
      names = "--max-output",
      defaultValue = "0",
      description = "Cap on output tokens per trace request (0: as in the trace).")
  int maxOutput;

  @Option(names = "--users", defaultValue = "15", description = "multi-round-qa: users.")
  int users;

  @Option(names = "--rounds", defaultValue = "20", description = "multi-round-qa: rounds per user.")
  int rounds;

  @Option(
      names = "--system-prompt-tokens",
      defaultValue = "1000",
      description = "multi-round-qa: shared system prompt length.")
  int systemPromptTokens;

  @Option(
      names = "--history-tokens",
      defaultValue = "20000",
      description = "multi-round-qa: each user's own history length.")
  int historyTokens;

  @Option(
      names = "--question-tokens",
      defaultValue = "50",
      description = "multi-round-qa: question length.")
  int questionTokens;

  @Option(
      names = "--answer-tokens",
      defaultValue = "100",
      description = "multi-round-qa: answer length.")
  int answerTokens;

  @Option(
      names = "--qps",
      split = ",",
      defaultValue = "0.5",
      description =
          "Offered requests/s (multi-round-qa, synthetic); several values run a sweep"
              + " (default: ${DEFAULT-VALUE}).")
  List<Double> qps;

  @Option(names = "--requests", defaultValue = "500", description = "synthetic: requests.")
  int requests;

  @Option(
      names = "--input-median",
      defaultValue = "600",
      description = "synthetic: median prompt tokens (log-normal).")
  double inputMedian;

  @Option(
      names = "--output-median",
      defaultValue = "200",
      description = "synthetic: median output tokens (log-normal).")
  double outputMedian;

  @Option(
      names = "--prefix-repeat",
      defaultValue = "0.5",
      description = "synthetic: share of prompts starting with a shared prefix, 0..1.")
  double prefixRepeat;

  @Option(
      names = "--prefixes",
      defaultValue = "8",
      description = "synthetic: distinct shared prefixes.")
  int prefixes;

  @Option(
      names = "--prefix-tokens",
      defaultValue = "1024",
      description = "synthetic: shared prefix length.")
  int prefixTokens;

  @Option(names = "--seed", defaultValue = "42", description = "synthetic: random seed.")
  long seed;

  @Option(
      names = "--slo-ttft",
      defaultValue = "0",
      description = "Goodput SLO on TTFT, seconds (0: none).")
  double sloTtft;

  @Option(
      names = "--slo-tpot",
      defaultValue = "0",
      description = "Goodput SLO on TPOT, seconds (0: none).")
  double sloTpot;

  @Option(
      names = "--loras",
      defaultValue = "0",
      description =
          "Spread users over this many LoRA adapters lora-0..lora-(N-1), a few hot and many cold;"
              + " each request names its user's adapter as the model (0: base model only).")
  int loras;

  @Option(
      names = "--tokenizer",
      description = "HuggingFace tokenizer directory (default: the model's own, fetched once).")
  Path tokenizer;

  /** Checks values that picocli cannot, with one-line messages. */
  void validate() {
    if (!List.of("multi-round-qa", "mooncake", "synthetic").contains(workload)) {
      throw new IllegalArgumentException(
          "unknown workload " + workload + " (multi-round-qa, mooncake or synthetic)");
    }
    for (double q : qps) {
      if (!(q > 0)) {
        throw new IllegalArgumentException("--qps must be positive, got " + q);
      }
    }
    if (!(timeScale > 0)) {
      throw new IllegalArgumentException("--time-scale must be positive, got " + timeScale);
    }
    if (loras < 0) {
      throw new IllegalArgumentException("--loras must not be negative, got " + loras);
    }
    if (maxRequests < 0 || maxOutput < 0) {
      throw new IllegalArgumentException("--max-requests and --max-output must not be negative");
    }
  }

  /** The QPS values to sweep; trace replay has its own timing, so one pass. */
  List<Double> sweep() {
    return workload.equals("mooncake") ? List.of(0.0) : qps;
  }

  Slo slo() {
    return new Slo(sloTtft, sloTpot, 0);
  }

  private List<MooncakeTrace.Entry> traceEntries;

  /** A fresh workload (each run needs its own: closed-loop workloads keep state). */
  Supplier<Workload> factory(double q, WordVocabulary words) {
    Supplier<Workload> base = baseFactory(q, words);
    return loras == 0 ? base : () -> new LoraMix(base.get(), loras);
  }

  private Supplier<Workload> baseFactory(double q, WordVocabulary words) {
    return switch (workload) {
      case "multi-round-qa" -> {
        MultiRoundQa.Params p =
            new MultiRoundQa.Params(
                users, rounds, systemPromptTokens, historyTokens, questionTokens, answerTokens, q);
        yield () -> new MultiRoundQa(p, words);
      }
      case "synthetic" -> {
        SyntheticWorkload.Params d = SyntheticWorkload.Params.DEFAULT;
        SyntheticWorkload.Params p =
            new SyntheticWorkload.Params(
                requests,
                q,
                inputMedian,
                d.inputSigma(),
                outputMedian,
                d.outputSigma(),
                d.maxInput(),
                d.maxOutput(),
                prefixRepeat,
                prefixes,
                prefixTokens,
                seed);
        yield () -> new SyntheticWorkload(p);
      }
      default -> {
        if (traceEntries == null) {
          traceEntries = MooncakeTrace.read(traceFile());
        }
        List<MooncakeTrace.Entry> entries = traceEntries;
        yield () -> new MooncakeTrace(entries, timeScale, maxRequests, maxOutput);
      }
    };
  }

  Path traceFile() {
    if (trace != null) {
      return trace;
    }
    for (Path p :
        List.of(
            Path.of("../shared/traces/mooncake_conversation_trace.jsonl"),
            Path.of("traces/mooncake_conversation_trace.jsonl"))) {
      if (p.toFile().isFile()) {
        return p;
      }
    }
    throw new IllegalArgumentException("--workload mooncake needs --trace FILE");
  }

  /** The workload's parameters, for the report. */
  Map<String, Object> describe(double q) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("workload", workload);
    switch (workload) {
      case "multi-round-qa" -> {
        m.put("users", users);
        m.put("rounds", rounds);
        m.put("system_prompt_tokens", systemPromptTokens);
        m.put("history_tokens", historyTokens);
        m.put("question_tokens", questionTokens);
        m.put("answer_tokens", answerTokens);
        m.put("qps", q);
      }
      case "synthetic" -> {
        m.put("requests", requests);
        m.put("qps", q);
        m.put("input_median", inputMedian);
        m.put("output_median", outputMedian);
        m.put("prefix_repeat", prefixRepeat);
        m.put("prefixes", prefixes);
        m.put("prefix_tokens", prefixTokens);
        m.put("seed", seed);
      }
      default -> {
        m.put("trace", traceFile().getFileName().toString());
        m.put("time_scale", timeScale);
        m.put("max_requests", maxRequests);
        m.put("max_output", maxOutput);
      }
    }
    return m;
  }
}
