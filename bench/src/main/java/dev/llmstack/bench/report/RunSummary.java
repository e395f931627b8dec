package dev.llmstack.bench.report;

import dev.llmstack.bench.runner.RequestRecord;
import dev.llmstack.bench.runner.RunResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * The figures of one run, defined as {@code vllm bench serve} defines them: TTFT from send to the
 * first token; TPOT per request as (E2E - TTFT) / (output tokens - 1); ITL over every gap between
 * consecutive tokens of every request; E2E from send to the last token; throughputs over the run's
 * duration (start to the last request's end); goodput counts requests meeting every SLO. Latencies
 * start at the intended send time, so a client that falls behind does not hide queueing.
 */
public final class RunSummary {

  private RunSummary() {}

  /** Every figure, in report.json's field names and order. */
  public static Map<String, Object> of(RunResult run, Slo slo) {
    List<RequestRecord> ok = new ArrayList<>();
    Map<String, Integer> errorKinds = new TreeMap<>();
    for (RequestRecord r : run.records()) {
      if (r.ok()) {
        ok.add(r);
      } else {
        errorKinds.merge(errorKind(r.error()), 1, Integer::sum);
      }
    }
    double duration = Math.max(1e-9, run.durationNanos() / 1e9);
    double[] ttft = new double[ok.size()];
    double[] e2e = new double[ok.size()];
    List<Double> tpots = new ArrayList<>();
    long prompt = 0;
    long output = 0;
    long cached = 0;
    long cachedPromptBase = 0;
    int good = 0;
    double maxLag = 0;
    for (int i = 0; i < ok.size(); i++) {
      RequestRecord r = ok.get(i);
      ttft[i] = r.ttftSeconds();
      e2e[i] = r.e2eSeconds();
      if (r.outputTokens() > 1) {
        tpots.add(r.tpotSeconds());
      }
      prompt += r.promptTokens();
      output += r.outputTokens();
      if (r.cachedTokens() >= 0) {
        cached += r.cachedTokens();
        cachedPromptBase += r.promptTokens();
      }
      maxLag = Math.max(maxLag, (r.sentNanos() - r.intendedNanos()) / 1e9);
      if (meets(r, slo)) {
        good++;
      }
    }
    Percentiles t = new Percentiles(ttft);
    Percentiles e = new Percentiles(e2e);
    Percentiles tp = new Percentiles(tpots.stream().mapToDouble(Double::doubleValue).toArray());
    Histogram itl = run.itlMicros();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", run.name());
    m.put("requests", run.records().size());
    m.put("completed", ok.size());
    m.put("errors", run.records().size() - ok.size());
    m.put("duration_s", duration);
    m.put("request_throughput", ok.size() / duration);
    m.put("output_tokens_per_s", output / duration);
    m.put("total_tokens_per_s", (prompt + output) / duration);
    m.put("prompt_tokens", prompt);
    m.put("output_tokens", output);
    m.put("cached_tokens", cached);
    m.put("cached_token_ratio", cachedPromptBase == 0 ? 0.0 : (double) cached / cachedPromptBase);
    quantiles(m, "ttft", t);
    quantiles(m, "tpot", tp);
    m.put("itl_mean_s", itl.getTotalCount() == 0 ? 0.0 : itl.getMean() / 1e6);
    m.put("itl_p50_s", itl.getValueAtPercentile(50) / 1e6);
    m.put("itl_p90_s", itl.getValueAtPercentile(90) / 1e6);
    m.put("itl_p99_s", itl.getValueAtPercentile(99) / 1e6);
    quantiles(m, "e2e", e);
    if (slo.isSet()) {
      m.put("goodput_rps", good / duration);
      Map<String, Double> s = new LinkedHashMap<>();
      s.put("ttft_s", slo.ttftSeconds());
      s.put("tpot_s", slo.tpotSeconds());
      s.put("e2e_s", slo.e2eSeconds());
      m.put("slo", s);
    }
    m.put("max_send_lag_s", maxLag);
    m.put("per_engine", perEngine(ok));
    if (!errorKinds.isEmpty()) {
      m.put("error_kinds", errorKinds);
    }
    m.putAll(run.extra());
    return m;
  }

  private static boolean meets(RequestRecord r, Slo slo) {
    return (slo.ttftSeconds() <= 0 || r.ttftSeconds() <= slo.ttftSeconds())
        && (slo.tpotSeconds() <= 0 || r.tpotSeconds() <= slo.tpotSeconds())
        && (slo.e2eSeconds() <= 0 || r.e2eSeconds() <= slo.e2eSeconds());
  }

  private static void quantiles(Map<String, Object> m, String name, Percentiles p) {
    m.put(name + "_mean_s", p.mean());
    m.put(name + "_p50_s", p.at(50));
    m.put(name + "_p90_s", p.at(90));
    m.put(name + "_p99_s", p.at(99));
  }

  /** Requests, prompt tokens and cache hit rate per engine. */
  static Map<String, Map<String, Object>> perEngine(List<RequestRecord> ok) {
    Map<String, long[]> acc = new TreeMap<>();
    for (RequestRecord r : ok) {
      long[] a = acc.computeIfAbsent(r.engine() == null ? "unknown" : r.engine(), k -> new long[4]);
      a[0]++;
      a[1] += r.promptTokens();
      a[2] += Math.max(0, r.cachedTokens());
      a[3] += r.outputTokens();
    }
    Map<String, Map<String, Object>> out = new TreeMap<>();
    acc.forEach(
        (engine, a) -> {
          Map<String, Object> e = new LinkedHashMap<>();
          e.put("requests", a[0]);
          e.put("prompt_tokens", a[1]);
          e.put("cached_tokens", a[2]);
          e.put("output_tokens", a[3]);
          e.put("cached_token_ratio", a[1] == 0 ? 0.0 : (double) a[2] / a[1]);
          out.put(engine, e);
        });
    return out;
  }

  /** The error's kind without request-specific detail, for counting. */
  static String errorKind(String error) {
    int colon = error.indexOf(':');
    return colon > 0 ? error.substring(0, colon) : error;
  }
}
