package dev.llmstack.engine.metrics;

import static dev.llmstack.protocol.metrics.VllmMetricNames.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.llmstack.engine.testing.PrometheusParser;
import dev.llmstack.engine.testing.PrometheusParser.Family;
import dev.llmstack.engine.testing.PrometheusParser.Sample;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * EngineMetrics on its own: the exposition is read by promtool and by the Python client's parser
 * (Prometheus's reference implementations), and checked against vLLM V1's names, types, labels,
 * buckets and HELP texts, and against the values the calls should produce.
 */
class EngineMetricsTest {

  static final String MODEL = "meta-llama/Llama-3.1-8B-Instruct";

  static final Map<String, String> CACHE_CONFIG = new LinkedHashMap<>();

  static {
    CACHE_CONFIG.put("block_size", "16");
    CACHE_CONFIG.put("cache_dtype", "auto");
    CACHE_CONFIG.put("enable_prefix_caching", "True");
    CACHE_CONFIG.put("gpu_memory_utilization", "0.9");
    CACHE_CONFIG.put("num_gpu_blocks", "2048");
    CACHE_CONFIG.put("prefix_caching_hash_algo", "sha256");
  }

  static final List<String> HISTOGRAMS =
      List.of(
          TIME_TO_FIRST_TOKEN,
          INTER_TOKEN_LATENCY,
          TIME_PER_OUTPUT_TOKEN_OLD,
          REQUEST_TIME_PER_OUTPUT_TOKEN,
          E2E_REQUEST_LATENCY,
          REQUEST_QUEUE_TIME,
          REQUEST_INFERENCE_TIME,
          REQUEST_PREFILL_TIME,
          REQUEST_DECODE_TIME,
          REQUEST_PROMPT_TOKENS,
          REQUEST_GENERATION_TOKENS,
          REQUEST_PARAMS_MAX_TOKENS,
          ITERATION_TOKENS);

  /** Every family as it appears on "# TYPE" lines, i.e. exactly the names vLLM scrapes show. */
  static Map<String, String> expectedTypes(boolean legacy) {
    Map<String, String> m = new TreeMap<>();
    m.put(NUM_REQUESTS_RUNNING, "gauge");
    m.put(NUM_REQUESTS_WAITING, "gauge");
    m.put(KV_CACHE_USAGE, "gauge");
    if (legacy) {
      m.put(GPU_CACHE_USAGE_OLD, "gauge");
    }
    m.put(PREFIX_CACHE_QUERIES, "counter");
    m.put(PREFIX_CACHE_HITS, "counter");
    m.put(NUM_PREEMPTIONS, "counter");
    m.put(PROMPT_TOKENS, "counter");
    m.put(GENERATION_TOKENS, "counter");
    m.put(REQUEST_SUCCESS, "counter");
    HISTOGRAMS.forEach(h -> m.put(h, "histogram"));
    m.put(CACHE_CONFIG_INFO, "gauge");
    return m;
  }

  @Test
  void freshScrapeHasVllmNamesTypesLabelsBucketsAndHelp() throws Exception {
    EngineMetrics m = new EngineMetrics(MODEL, "0", 4096, CACHE_CONFIG, true);
    assertThat(m.contentType()).isEqualTo("text/plain; version=0.0.4; charset=utf-8");
    String text = scrape(m);

    assertThat(PrometheusParser.promtoolProblems(text)).isEmpty();
    assertThat(typeLines(text)).isEqualTo(expectedTypes(true));
    assertThat(text).doesNotContain("_created").doesNotContain("_gcount").doesNotContain("# EOF");

    Map<String, Family> f = PrometheusParser.parse(text);
    // The Python parser agrees on every family and type (it drops _total from counter families).
    Map<String, String> parsedTypes = new TreeMap<>();
    f.values().forEach(fam -> parsedTypes.put(fam.name(), fam.type()));
    Map<String, String> expectedParsed = new TreeMap<>();
    expectedTypes(true)
        .forEach(
            (name, type) ->
                expectedParsed.put(
                    type.equals("counter") ? name.substring(0, name.length() - 6) : name, type));
    assertThat(parsedTypes).isEqualTo(expectedParsed);

    // Counters are scraped with _total; histograms as _bucket/_count/_sum only.
    assertThat(sampleNames(f.get("vllm:request_success"))).containsExactly(REQUEST_SUCCESS);
    assertThat(sampleNames(f.get("vllm:prompt_tokens"))).containsExactly(PROMPT_TOKENS);
    for (String h : HISTOGRAMS) {
      assertThat(sampleNames(f.get(h)))
          .containsExactlyInAnyOrder(h + "_bucket", h + "_count", h + "_sum");
    }
    assertThat(sampleNames(f.get(ITERATION_TOKENS))).contains("vllm:iteration_tokens_total_bucket");

    // model_name and engine on every series (plus le / finished_reason where they belong); all 0.
    for (Family fam : f.values()) {
      if (fam.name().equals(CACHE_CONFIG_INFO)) {
        continue;
      }
      for (Sample s : fam.samples()) {
        Set<String> keys = new TreeSet<>(Set.of(LABEL_MODEL_NAME, LABEL_ENGINE));
        if (s.name().endsWith("_bucket")) {
          keys.add("le");
        }
        if (s.name().equals(REQUEST_SUCCESS)) {
          keys.add(LABEL_FINISHED_REASON);
        }
        assertThat(s.labels().keySet()).as(s.name()).isEqualTo(keys);
        assertThat(s.labels())
            .containsEntry(LABEL_MODEL_NAME, MODEL)
            .containsEntry(LABEL_ENGINE, "0");
        assertThat(s.value()).as(s.name()).isZero();
      }
    }
    assertThat(
            f.get("vllm:request_success").samples().stream()
                .map(s -> s.labels().get(LABEL_FINISHED_REASON))
                .collect(Collectors.toSet()))
        .containsExactlyInAnyOrder("stop", "length", "abort", "error");

    // The info gauge: value 1, labels = the cache config fields + engine, no model_name.
    List<Sample> info = f.get(CACHE_CONFIG_INFO).samples();
    assertThat(info).hasSize(1);
    assertThat(info.get(0).value()).isEqualTo(1);
    Map<String, String> infoLabels = new HashMap<>(CACHE_CONFIG);
    infoLabels.put(LABEL_ENGINE, "0");
    assertThat(info.get(0).labels()).isEqualTo(infoLabels);

    // Exact bucket bounds, as vLLM's.
    assertThat(buckets(f, TIME_TO_FIRST_TOKEN)).containsExactly(withInf(ttftBuckets()));
    for (String h :
        List.of(INTER_TOKEN_LATENCY, TIME_PER_OUTPUT_TOKEN_OLD, REQUEST_TIME_PER_OUTPUT_TOKEN)) {
      assertThat(buckets(f, h)).as(h).containsExactly(withInf(interTokenBuckets()));
    }
    for (String h :
        List.of(
            E2E_REQUEST_LATENCY,
            REQUEST_QUEUE_TIME,
            REQUEST_INFERENCE_TIME,
            REQUEST_PREFILL_TIME,
            REQUEST_DECODE_TIME)) {
      assertThat(buckets(f, h)).as(h).containsExactly(withInf(requestLatencyBuckets()));
    }
    assertThat(buckets(f, ITERATION_TOKENS))
        .containsExactly(
            1,
            8,
            16,
            32,
            64,
            128,
            256,
            512,
            1024,
            2048,
            4096,
            8192,
            16384,
            Double.POSITIVE_INFINITY);
    for (String h :
        List.of(REQUEST_PROMPT_TOKENS, REQUEST_GENERATION_TOKENS, REQUEST_PARAMS_MAX_TOKENS)) {
      assertThat(buckets(f, h))
          .as(h)
          .containsExactly(
              1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, Double.POSITIVE_INFINITY);
    }

    // HELP texts as vLLM's.
    assertThat(f.get(NUM_REQUESTS_RUNNING).help())
        .isEqualTo("Number of requests in model execution batches.");
    assertThat(f.get("vllm:prefix_cache_hits").help())
        .isEqualTo("Prefix cache hits, in terms of number of cached tokens.");
    assertThat(f.get(TIME_PER_OUTPUT_TOKEN_OLD).help())
        .isEqualTo(
            "Histogram of time per output token in seconds."
                + "DEPRECATED: Use vllm:inter_token_latency_seconds instead.");
    assertThat(f.get(ITERATION_TOKENS).help())
        .isEqualTo("Histogram of number of tokens per engine_step.");
    assertThat(f.get(CACHE_CONFIG_INFO).help())
        .isEqualTo("Information of the LLMEngine CacheConfig");
  }

  @Test
  void withoutLegacyNamesTheOldKvGaugeIsAbsent() throws Exception {
    String text = scrape(new EngineMetrics(MODEL, "0", 4096, CACHE_CONFIG, false));
    assertThat(typeLines(text)).isEqualTo(expectedTypes(false));
    assertThat(text).doesNotContain(GPU_CACHE_USAGE_OLD);
  }

  @Test
  void callsShowUpAsVllmWouldCountThem() throws Exception {
    EngineMetrics m = new EngineMetrics(MODEL, "0", 4096, CACHE_CONFIG, true);
    m.setQueueState(3, 2, 0.25);
    m.setQueueState(4, 1, 0.5);
    m.prefixCacheQueried(100, 64);
    m.prefixCacheQueried(50, 0);
    m.preempted();
    m.preempted();
    m.iteration(5);
    m.iteration(300);
    // Request A: 100-token prompt, 4 tokens.
    m.firstToken(0.03);
    m.promptTokens(100);
    m.interToken(0.02);
    m.interToken(0.02);
    m.interToken(0.2);
    m.requestFinished("stop", 100, 4, 16, 2.0, 0.5, 0.3, 1.2);
    // Request B: 50-token prompt, 1 token, no max_tokens given.
    m.firstToken(3.0);
    m.promptTokens(50);
    m.requestFinished("length", 50, 1, 0, 4.0, 0.1, 3.0, 0.0);
    // Request C: aborted while queued.
    m.requestFinished("abort", 7, 0, 9, 0.4, 0.4, 0.0, 0.0);

    String text = scrape(m);
    assertThat(PrometheusParser.promtoolProblems(text)).isEmpty();
    Map<String, Family> f = PrometheusParser.parse(text);

    assertThat(value(f, NUM_REQUESTS_RUNNING)).isEqualTo(4);
    assertThat(value(f, NUM_REQUESTS_WAITING)).isEqualTo(1);
    assertThat(value(f, KV_CACHE_USAGE)).isEqualTo(0.5);
    assertThat(value(f, GPU_CACHE_USAGE_OLD)).isEqualTo(0.5);
    assertThat(value(f, PREFIX_CACHE_QUERIES)).isEqualTo(150);
    assertThat(value(f, PREFIX_CACHE_HITS)).isEqualTo(64);
    assertThat(value(f, NUM_PREEMPTIONS)).isEqualTo(2);
    assertThat(value(f, PROMPT_TOKENS)).isEqualTo(150);
    assertThat(value(f, GENERATION_TOKENS)).isEqualTo(5);
    assertThat(value(f, REQUEST_SUCCESS, Map.of(LABEL_FINISHED_REASON, "stop"))).isEqualTo(1);
    assertThat(value(f, REQUEST_SUCCESS, Map.of(LABEL_FINISHED_REASON, "length"))).isEqualTo(1);
    assertThat(value(f, REQUEST_SUCCESS, Map.of(LABEL_FINISHED_REASON, "abort"))).isEqualTo(1);
    assertThat(value(f, REQUEST_SUCCESS, Map.of(LABEL_FINISHED_REASON, "error"))).isZero();

    assertThat(value(f, TIME_TO_FIRST_TOKEN + "_count")).isEqualTo(2);
    assertThat(value(f, TIME_TO_FIRST_TOKEN + "_sum")).isCloseTo(3.03, within(1e-9));
    assertThat(bucket(f, TIME_TO_FIRST_TOKEN, "0.02")).isZero();
    assertThat(bucket(f, TIME_TO_FIRST_TOKEN, "0.04")).isEqualTo(1);
    assertThat(bucket(f, TIME_TO_FIRST_TOKEN, "2.5")).isEqualTo(1);
    assertThat(bucket(f, TIME_TO_FIRST_TOKEN, "5.0")).isEqualTo(2);
    for (String h : List.of(INTER_TOKEN_LATENCY, TIME_PER_OUTPUT_TOKEN_OLD)) {
      assertThat(value(f, h + "_count")).as(h).isEqualTo(3);
      assertThat(value(f, h + "_sum")).as(h).isCloseTo(0.24, within(1e-9));
      assertThat(bucket(f, h, "0.025")).as(h).isEqualTo(2);
      assertThat(bucket(f, h, "0.2")).as(h).isEqualTo(3);
    }
    assertThat(value(f, ITERATION_TOKENS + "_count")).isEqualTo(2);
    assertThat(value(f, ITERATION_TOKENS + "_sum")).isEqualTo(305);
    assertThat(bucket(f, ITERATION_TOKENS, "8.0")).isEqualTo(1);
    assertThat(bucket(f, ITERATION_TOKENS, "256.0")).isEqualTo(1);
    assertThat(bucket(f, ITERATION_TOKENS, "512.0")).isEqualTo(2);

    assertThat(value(f, E2E_REQUEST_LATENCY + "_count")).isEqualTo(3);
    assertThat(value(f, E2E_REQUEST_LATENCY + "_sum")).isCloseTo(6.4, within(1e-9));
    assertThat(bucket(f, E2E_REQUEST_LATENCY, "0.5")).isEqualTo(1);
    assertThat(bucket(f, E2E_REQUEST_LATENCY, "2.0")).isEqualTo(2);
    assertThat(value(f, REQUEST_QUEUE_TIME + "_sum")).isCloseTo(1.0, within(1e-9));
    assertThat(value(f, REQUEST_PREFILL_TIME + "_sum")).isCloseTo(3.3, within(1e-9));
    assertThat(value(f, REQUEST_DECODE_TIME + "_sum")).isCloseTo(1.2, within(1e-9));
    // Inference (RUNNING) = prefill + decode.
    assertThat(value(f, REQUEST_INFERENCE_TIME + "_sum")).isCloseTo(4.5, within(1e-9));
    assertThat(value(f, REQUEST_INFERENCE_TIME + "_count")).isEqualTo(3);
    // Per request: decode / (tokens - 1) = 0.4 for A; 0 for B and C, as vLLM observes.
    assertThat(value(f, REQUEST_TIME_PER_OUTPUT_TOKEN + "_count")).isEqualTo(3);
    assertThat(value(f, REQUEST_TIME_PER_OUTPUT_TOKEN + "_sum")).isCloseTo(0.4, within(1e-9));
    assertThat(bucket(f, REQUEST_TIME_PER_OUTPUT_TOKEN, "0.01")).isEqualTo(2);

    assertThat(value(f, REQUEST_PROMPT_TOKENS + "_sum")).isEqualTo(157);
    assertThat(bucket(f, REQUEST_PROMPT_TOKENS, "10.0")).isEqualTo(1);
    assertThat(bucket(f, REQUEST_PROMPT_TOKENS, "50.0")).isEqualTo(2);
    assertThat(bucket(f, REQUEST_PROMPT_TOKENS, "100.0")).isEqualTo(3);
    assertThat(value(f, REQUEST_GENERATION_TOKENS + "_sum")).isEqualTo(5);
    assertThat(bucket(f, REQUEST_GENERATION_TOKENS, "1.0")).isEqualTo(2);
    // max_tokens 0 means "not given" and is not observed, as in vLLM.
    assertThat(value(f, REQUEST_PARAMS_MAX_TOKENS + "_count")).isEqualTo(2);
    assertThat(value(f, REQUEST_PARAMS_MAX_TOKENS + "_sum")).isEqualTo(25);
    assertThat(bucket(f, REQUEST_PARAMS_MAX_TOKENS, "+Inf")).isEqualTo(2);
  }

  @Test
  void unknownFinishReasonIsRejected() {
    EngineMetrics m = new EngineMetrics(MODEL, "0", 4096, CACHE_CONFIG, false);
    assertThatThrownBy(() -> m.requestFinished("eos", 1, 1, 1, 1, 0, 0, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("eos");
  }

  @Test
  void twoInstancesKeepSeparateStateAndLabels() throws Exception {
    EngineMetrics a = new EngineMetrics("model-a", "0", 2048, CACHE_CONFIG, false);
    Map<String, String> configB = new LinkedHashMap<>(CACHE_CONFIG);
    configB.put("engine", "ignored"); // engine comes from the constructor
    EngineMetrics b = new EngineMetrics("model-b", "1", 2048, configB, false);
    a.setQueueState(7, 3, 0.9);
    a.firstToken(0.1);
    a.promptTokens(42);
    a.preempted();
    a.requestFinished("stop", 42, 1, 5, 1, 0, 0.1, 0);

    Map<String, Family> fa = PrometheusParser.parse(scrape(a));
    Map<String, Family> fb = PrometheusParser.parse(scrape(b));
    assertThat(value(fa, NUM_REQUESTS_RUNNING)).isEqualTo(7);
    assertThat(value(fa, PROMPT_TOKENS)).isEqualTo(42);
    assertThat(value(fa, GENERATION_TOKENS)).isEqualTo(1);
    assertThat(value(fa, NUM_PREEMPTIONS)).isEqualTo(1);
    assertThat(value(fa, E2E_REQUEST_LATENCY + "_count")).isEqualTo(1);
    for (Family fam : fb.values()) {
      for (Sample s : fam.samples()) {
        if (fam.name().equals(CACHE_CONFIG_INFO)) {
          assertThat(s.labels()).containsEntry(LABEL_ENGINE, "1");
          continue;
        }
        assertThat(s.value()).as("engine b " + s.name() + s.labels()).isZero();
        assertThat(s.labels())
            .containsEntry(LABEL_MODEL_NAME, "model-b")
            .containsEntry(LABEL_ENGINE, "1");
      }
    }
    assertThat(fa.get(NUM_REQUESTS_RUNNING).samples())
        .allSatisfy(s -> assertThat(s.labels()).containsEntry(LABEL_MODEL_NAME, "model-a"));
  }

  static String scrape(EngineMetrics m) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    m.writeTo(out);
    return out.toString(StandardCharsets.UTF_8);
  }

  /** Name to type, from the exposition's "# TYPE" lines. */
  static Map<String, String> typeLines(String text) {
    Map<String, String> m = new TreeMap<>();
    for (String line : text.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ");
        m.put(parts[2], parts[3]);
      }
    }
    return m;
  }

  static Set<String> sampleNames(Family f) {
    return f.samples().stream().map(Sample::name).collect(Collectors.toCollection(TreeSet::new));
  }

  static double value(Map<String, Family> f, String sample) {
    return value(f, sample, Map.of());
  }

  /** Sum of the samples named {@code sample} whose labels include {@code labels}. */
  static double value(Map<String, Family> f, String sample, Map<String, String> labels) {
    double sum = 0;
    int seen = 0;
    for (Family fam : f.values()) {
      for (Sample s : fam.samples()) {
        if (s.name().equals(sample) && s.labels().entrySet().containsAll(labels.entrySet())) {
          sum += s.value();
          seen++;
        }
      }
    }
    assertThat(seen).as("samples of " + sample + labels).isPositive();
    return sum;
  }

  static double bucket(Map<String, Family> f, String histogram, String le) {
    return value(f, histogram + "_bucket", Map.of("le", le));
  }

  static double[] buckets(Map<String, Family> f, String histogram) {
    return f.get(histogram).samples().stream()
        .filter(s -> s.name().equals(histogram + "_bucket"))
        .map(s -> s.labels().get("le"))
        .mapToDouble(le -> le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le))
        .sorted()
        .toArray();
  }

  static double[] withInf(double[] b) {
    double[] out = Arrays.copyOf(b, b.length + 1);
    out[b.length] = Double.POSITIVE_INFINITY;
    return out;
  }
}
