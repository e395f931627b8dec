package dev.llmstack.engine.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.engine.testing.PrometheusParser;
import dev.llmstack.engine.testing.PrometheusParser.Family;
import dev.llmstack.engine.testing.PrometheusParser.Sample;
import dev.llmstack.engine.testing.TestHttp;
import dev.llmstack.protocol.metrics.PrometheusText;
import dev.llmstack.protocol.metrics.VllmMetricNames;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * /metrics carries vLLM's names, types, labels and buckets, as parsed by Prometheus's own parsers.
 */
class EngineMetricsIT {

  static final String MODEL = "meta-llama/Llama-3.1-8B-Instruct";
  static final String SUCCESS = "vllm:request_success_total";

  @Test
  void exportsVllmMetricsThatRealParsersRead() throws Exception {
    try (SimulatedEngine engine =
        SimulatedEngine.start(
            EngineSettings.defaults()
                .port(0)
                .timeScale(20)
                .maxModelLen(4096)
                .legacyMetricNames(true))) {
      TestHttp http = new TestHttp(engine.baseUrl());
      String prompt =
          "{\"prompt\":\""
              + "tell me about the sea ".repeat(10)
              + "\",\"max_tokens\":8,\"ignore_eos\":true}";
      http.post("/v1/completions", prompt);
      http.post("/v1/completions", prompt); // a prefix-cache hit
      // A request is counted as its engine step finishes it, which may be just after its last byte
      // went out (vLLM's stats also trail its responses): scrape until both are in, for up to 5 s.
      TestHttp.Reply r = http.get("/metrics");
      for (long deadline = System.nanoTime() + 5_000_000_000L;
          PrometheusText.sums(r.body(), Set.of(SUCCESS)).getOrDefault(SUCCESS, 0.0) < 2;
          r = http.get("/metrics")) {
        assertThat(System.nanoTime()).as("both requests counted within 5 s").isLessThan(deadline);
        Thread.sleep(20);
      }
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.raw().headers().firstValue("content-type").orElse("")).startsWith("text/plain");
      String text = r.body();

      assertThat(PrometheusParser.promtoolProblems(text)).isEmpty();
      Map<String, Family> f = PrometheusParser.parse(text);

      // The Python parser names counter families without _total, as the OpenMetrics model does.
      assertType(f, "vllm:num_requests_running", "gauge");
      assertType(f, "vllm:num_requests_waiting", "gauge");
      assertType(f, "vllm:kv_cache_usage_perc", "gauge");
      assertType(f, "vllm:gpu_cache_usage_perc", "gauge");
      assertType(f, "vllm:prefix_cache_queries", "counter");
      assertType(f, "vllm:prefix_cache_hits", "counter");
      assertType(f, "vllm:num_preemptions", "counter");
      assertType(f, "vllm:prompt_tokens", "counter");
      assertType(f, "vllm:generation_tokens", "counter");
      assertType(f, "vllm:request_success", "counter");
      for (String h :
          List.of(
              "vllm:time_to_first_token_seconds",
              "vllm:inter_token_latency_seconds",
              "vllm:time_per_output_token_seconds",
              "vllm:request_time_per_output_token_seconds",
              "vllm:e2e_request_latency_seconds",
              "vllm:request_queue_time_seconds",
              "vllm:request_inference_time_seconds",
              "vllm:request_prefill_time_seconds",
              "vllm:request_decode_time_seconds",
              "vllm:request_prompt_tokens",
              "vllm:request_generation_tokens",
              "vllm:request_params_max_tokens",
              "vllm:iteration_tokens_total")) {
        assertType(f, h, "histogram");
      }
      assertType(f, "vllm:cache_config_info", "gauge");

      // Labels: model_name and engine everywhere; finished_reason on request_success.
      for (Sample s : f.get("vllm:num_requests_running").samples()) {
        assertThat(s.labels()).containsEntry("model_name", MODEL).containsEntry("engine", "0");
      }
      assertThat(value(f, "vllm:request_success_total", Map.of("finished_reason", "length")))
          .isEqualTo(2);
      assertThat(value(f, "vllm:generation_tokens_total", Map.of())).isEqualTo(16);
      assertThat(value(f, "vllm:prefix_cache_hits_total", Map.of())).isPositive();
      assertThat(value(f, "vllm:prefix_cache_queries_total", Map.of()))
          .isGreaterThan(value(f, "vllm:prefix_cache_hits_total", Map.of()));
      assertThat(value(f, "vllm:time_to_first_token_seconds_count", Map.of())).isEqualTo(2);
      assertThat(value(f, "vllm:inter_token_latency_seconds_count", Map.of())).isEqualTo(14);

      // Exact bucket boundaries, as vLLM's.
      assertThat(buckets(f, "vllm:time_to_first_token_seconds"))
          .containsExactly(withInf(VllmMetricNames.ttftBuckets()));
      assertThat(buckets(f, "vllm:inter_token_latency_seconds"))
          .containsExactly(withInf(VllmMetricNames.interTokenBuckets()));
      assertThat(buckets(f, "vllm:e2e_request_latency_seconds"))
          .containsExactly(withInf(VllmMetricNames.requestLatencyBuckets()));
      assertThat(buckets(f, "vllm:iteration_tokens_total"))
          .containsExactly(withInf(VllmMetricNames.iterationTokenBuckets()));
      assertThat(buckets(f, "vllm:request_prompt_tokens"))
          .containsExactly(
              1.0,
              2.0,
              5.0,
              10.0,
              20.0,
              50.0,
              100.0,
              200.0,
              500.0,
              1000.0,
              2000.0,
              Double.POSITIVE_INFINITY);

      Sample info = f.get("vllm:cache_config_info").samples().get(0);
      assertThat(info.value()).isEqualTo(1);
      assertThat(info.labels())
          .containsEntry("block_size", "16")
          .containsEntry("enable_prefix_caching", "True")
          .containsEntry("num_gpu_blocks", Integer.toString(engine.totalBlocks()))
          .containsEntry("engine", "0");
    }
  }

  @Test
  void twoEnginesInOneJvmKeepSeparateCounts() throws Exception {
    try (SimulatedEngine a =
            SimulatedEngine.start(
                EngineSettings.defaults().port(0).timeScale(50).maxModelLen(2048));
        SimulatedEngine b =
            SimulatedEngine.start(
                EngineSettings.defaults().port(0).timeScale(50).maxModelLen(2048))) {
      new TestHttp(a.baseUrl())
          .post("/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":3,\"ignore_eos\":true}");
      Map<String, Family> fa =
          PrometheusParser.parse(new TestHttp(a.baseUrl()).get("/metrics").body());
      Map<String, Family> fb =
          PrometheusParser.parse(new TestHttp(b.baseUrl()).get("/metrics").body());
      assertThat(value(fa, "vllm:generation_tokens_total", Map.of())).isEqualTo(3);
      assertThat(value(fb, "vllm:generation_tokens_total", Map.of())).isZero();
    }
  }

  static void assertType(Map<String, Family> f, String name, String type) {
    assertThat(f).as("family " + name).containsKey(name);
    assertThat(f.get(name).type()).as(name).isEqualTo(type);
  }

  /** Sum of samples named {@code sample} whose labels include {@code labels}. */
  static double value(Map<String, Family> f, String sample, Map<String, String> labels) {
    double sum = 0;
    for (Family fam : f.values()) {
      for (Sample s : fam.samples()) {
        if (s.name().equals(sample) && s.labels().entrySet().containsAll(labels.entrySet())) {
          sum += s.value();
        }
      }
    }
    return sum;
  }

  static double[] buckets(Map<String, Family> f, String histogram) {
    Map<Double, Boolean> les = new TreeMap<>();
    for (Sample s : f.get(histogram).samples()) {
      if (s.name().equals(histogram + "_bucket")) {
        String le = s.labels().get("le");
        les.put(le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le), true);
      }
    }
    return les.keySet().stream().mapToDouble(Double::doubleValue).toArray();
  }

  static double[] withInf(double[] b) {
    double[] out = java.util.Arrays.copyOf(b, b.length + 1);
    out[b.length] = Double.POSITIVE_INFINITY;
    return out;
  }
}
