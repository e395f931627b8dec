package dev.llmstack.engine.metrics;

import static dev.llmstack.protocol.metrics.VllmMetricNames.*;

import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleSupplier;

/**
 * The simulated engine's /metrics with vLLM V1's names, types, labels ({@code model_name}, {@code
 * engine}) and histogram buckets. Each engine has its own registry, so several engines in one JVM
 * stay apart. Updates come from the scheduler thread (cheap: one call per token at most); scrapes
 * from HTTP threads.
 *
 * <p>Prompt tokens are counted when a request's prefill is scheduled and generation tokens as they
 * are produced, as vLLM counts them per iteration.
 */
public final class EngineMetrics {

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private final String model;
  private final String engine;

  private final Gauge running;
  private final Gauge waiting;
  private final Gauge kvUsage;
  private final Gauge kvUsageOld;
  private final Counter prefixQueries;
  private final Counter prefixHits;
  private final Counter preemptions;
  private final Counter promptTokens;
  private final Counter generationTokens;
  private final Counter success;
  private final DistributionDataPoint ttft;
  private final DistributionDataPoint itl;
  private final DistributionDataPoint tpotOld;
  private final DistributionDataPoint requestTpot;
  private final DistributionDataPoint e2e;
  private final DistributionDataPoint queue;
  private final DistributionDataPoint inference;
  private final DistributionDataPoint prefill;
  private final DistributionDataPoint decode;
  private final DistributionDataPoint promptHist;
  private final DistributionDataPoint generationHist;
  private final DistributionDataPoint maxTokensHist;
  private final DistributionDataPoint iterationTokens;
  private final String[] finishReasons = {"stop", "length", "abort", "error"};
  private final io.prometheus.metrics.core.datapoints.CounterDataPoint[] successByReason =
      new io.prometheus.metrics.core.datapoints.CounterDataPoint[finishReasons.length];

  /**
   * @param cacheConfig labels of vllm:cache_config_info (CacheConfig fields as strings)
   * @param legacyNames also export vllm:gpu_cache_usage_perc (deprecated in vLLM 0.9)
   */
  public EngineMetrics(
      String modelName,
      String engineIndex,
      long maxModelLen,
      Map<String, String> cacheConfig,
      boolean legacyNames) {
    this.model = modelName;
    this.engine = engineIndex;
    running = gauge(NUM_REQUESTS_RUNNING, "Number of requests in model execution batches.");
    waiting = gauge(NUM_REQUESTS_WAITING, "Number of requests waiting to be processed.");
    kvUsage = gauge(KV_CACHE_USAGE, "KV-cache usage. 1 means 100 percent usage.");
    kvUsageOld =
        legacyNames
            ? gauge(GPU_CACHE_USAGE_OLD, "GPU KV-cache usage. 1 means 100 percent usage.")
            : null;
    prefixQueries =
        counter(
            PREFIX_CACHE_QUERIES, "Prefix cache queries, in terms of number of queried tokens.");
    prefixHits =
        counter(PREFIX_CACHE_HITS, "Prefix cache hits, in terms of number of cached tokens.");
    preemptions = counter(NUM_PREEMPTIONS, "Cumulative number of preemption from the engine.");
    promptTokens = counter(PROMPT_TOKENS, "Number of prefill tokens processed.");
    generationTokens = counter(GENERATION_TOKENS, "Number of generation tokens processed.");
    success =
        Counter.builder()
            .name(REQUEST_SUCCESS)
            .help("Count of successfully processed requests.")
            .labelNames("model_name", "engine", "finished_reason")
            .register(registry);
    for (int i = 0; i < finishReasons.length; i++) {
      successByReason[i] = success.labelValues(model, engine, finishReasons[i]);
    }
    ttft =
        histogram(
            TIME_TO_FIRST_TOKEN, "Histogram of time to first token in seconds.", TTFT_BUCKETS);
    itl =
        histogram(INTER_TOKEN_LATENCY, "Histogram of inter-token latency in seconds.", ITL_BUCKETS);
    tpotOld =
        histogram(
            TIME_PER_OUTPUT_TOKEN_OLD,
            "Histogram of time per output token in seconds. DEPRECATED: use"
                + " vllm:inter_token_latency_seconds.",
            ITL_BUCKETS);
    requestTpot =
        histogram(
            REQUEST_TIME_PER_OUTPUT_TOKEN,
            "Histogram of time_per_output_token_seconds per request.",
            ITL_BUCKETS);
    e2e =
        histogram(
            E2E_REQUEST_LATENCY,
            "Histogram of e2e request latency in seconds.",
            REQUEST_LATENCY_BUCKETS);
    queue =
        histogram(
            REQUEST_QUEUE_TIME,
            "Histogram of time spent in WAITING phase for request.",
            REQUEST_LATENCY_BUCKETS);
    inference =
        histogram(
            REQUEST_INFERENCE_TIME,
            "Histogram of time spent in RUNNING phase for request.",
            REQUEST_LATENCY_BUCKETS);
    prefill =
        histogram(
            REQUEST_PREFILL_TIME,
            "Histogram of time spent in PREFILL phase for request.",
            REQUEST_LATENCY_BUCKETS);
    decode =
        histogram(
            REQUEST_DECODE_TIME,
            "Histogram of time spent in DECODE phase for request.",
            REQUEST_LATENCY_BUCKETS);
    double[] lengths = oneTwoFiveBuckets(maxModelLen);
    promptHist = histogram(REQUEST_PROMPT_TOKENS, "Number of prefill tokens processed.", lengths);
    generationHist =
        histogram(REQUEST_GENERATION_TOKENS, "Number of generation tokens processed.", lengths);
    maxTokensHist =
        histogram(
            REQUEST_PARAMS_MAX_TOKENS, "Histogram of the max_tokens request parameter.", lengths);
    iterationTokens =
        histogram(
            ITERATION_TOKENS,
            "Histogram of number of tokens per engine_step.",
            ITERATION_TOKEN_BUCKETS);
    List<String> infoLabels = new ArrayList<>(cacheConfig.keySet());
    infoLabels.remove("engine");
    infoLabels.add("engine");
    Gauge info =
        Gauge.builder()
            .name(CACHE_CONFIG_INFO)
            .help("Information of the LLMEngine CacheConfig")
            .labelNames(infoLabels.toArray(String[]::new))
            .register(registry);
    String[] values = new String[infoLabels.size()];
    for (int i = 0; i < values.length - 1; i++) {
      values[i] = cacheConfig.get(infoLabels.get(i));
    }
    values[values.length - 1] = engine;
    info.labelValues(values).set(1);
  }

  /** Adds a simulator-specific counter read at scrape time (e.g. the driver's step accounting). */
  public void counterCallback(String name, String help, DoubleSupplier value) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames("model_name", "engine")
        .callback(cb -> cb.call(value.getAsDouble(), model, engine))
        .register(registry);
  }

  /**
   * Label values are set at once so every series shows from the first scrape, at 0 (as vLLM's do).
   */
  private Gauge gauge(String name, String help) {
    Gauge g =
        Gauge.builder().name(name).help(help).labelNames("model_name", "engine").register(registry);
    g.labelValues(model, engine);
    return g;
  }

  private Counter counter(String name, String help) {
    Counter c =
        Counter.builder()
            .name(name)
            .help(help)
            .labelNames("model_name", "engine")
            .register(registry);
    c.labelValues(model, engine);
    return c;
  }

  private DistributionDataPoint histogram(String name, String help, double[] buckets) {
    return Histogram.builder()
        .name(name)
        .help(help)
        .labelNames("model_name", "engine")
        .classicUpperBounds(buckets)
        .classicOnly()
        .register(registry)
        .labelValues(model, engine);
  }

  public void setQueueState(int numRunning, int numWaiting, double kvCacheUsage) {
    running.labelValues(model, engine).set(numRunning);
    waiting.labelValues(model, engine).set(numWaiting);
    kvUsage.labelValues(model, engine).set(kvCacheUsage);
    if (kvUsageOld != null) {
      kvUsageOld.labelValues(model, engine).set(kvCacheUsage);
    }
  }

  public void prefixCacheQueried(long queryTokens, long hitTokens) {
    prefixQueries.labelValues(model, engine).inc(queryTokens);
    prefixHits.labelValues(model, engine).inc(hitTokens);
  }

  public void preempted() {
    preemptions.labelValues(model, engine).inc();
  }

  public void promptTokens(long n) {
    promptTokens.labelValues(model, engine).inc(n);
  }

  public void iteration(int tokensInStep) {
    iterationTokens.observe(tokensInStep);
  }

  public void firstToken(double ttftSeconds) {
    ttft.observe(ttftSeconds);
    generationTokens.labelValues(model, engine).inc();
  }

  public void interToken(double seconds) {
    itl.observe(seconds);
    tpotOld.observe(seconds);
    generationTokens.labelValues(model, engine).inc();
  }

  public void requestFinished(
      String finishReason,
      int promptTokenCount,
      int generationTokenCount,
      int maxTokensParam,
      double e2eSeconds,
      double queueSeconds,
      double prefillSeconds,
      double decodeSeconds) {
    for (int i = 0; i < finishReasons.length; i++) {
      if (finishReasons[i].equals(finishReason)) {
        successByReason[i].inc();
      }
    }
    e2e.observe(e2eSeconds);
    queue.observe(queueSeconds);
    inference.observe(prefillSeconds + decodeSeconds);
    prefill.observe(prefillSeconds);
    decode.observe(decodeSeconds);
    promptHist.observe(promptTokenCount);
    generationHist.observe(generationTokenCount);
    maxTokensHist.observe(maxTokensParam);
    if (generationTokenCount > 1) {
      requestTpot.observe(decodeSeconds / (generationTokenCount - 1));
    }
  }

  public void writeTo(OutputStream out) throws IOException {
    writer.write(out, registry.scrape());
  }

  public String contentType() {
    return writer.getContentType();
  }
}
