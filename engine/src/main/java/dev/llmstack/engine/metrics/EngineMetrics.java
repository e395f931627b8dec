package dev.llmstack.engine.metrics;

import static dev.llmstack.protocol.metrics.VllmMetricNames.*;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.datapoints.GaugeDataPoint;
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
 * engine}), HELP texts and histogram buckets, in Prometheus text format 0.0.4.
 *
 * <p>Each instance has its own {@link PrometheusRegistry}, so several engines in one JVM stay
 * apart. Updates come from the engine's scheduler thread, scrapes from HTTP threads; the client's
 * data points are thread-safe. Every series is resolved to its data point once, here, so an update
 * is an add on a striped counter: no label lookup and no allocation per token. Exemplars are off
 * (the 0.0.4 text format cannot carry them), histograms are classic only, and no {@code _created}
 * series are written, as vLLM shows none.
 *
 * <p>Token counters follow vLLM V1, which counts per iteration: a request's prompt tokens (its
 * whole prompt, cached tokens included) when its prefill completes, i.e. with its first token
 * ({@link #promptTokens}), and generation tokens one by one as they are produced ({@link
 * #firstToken}, {@link #interToken}). So the counters move while requests run, not only when they
 * finish.
 */
public final class EngineMetrics {

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer =
      PrometheusTextFormatWriter.builder().setIncludeCreatedTimestamps(false).build();
  private final String model;
  private final String engine;

  private final GaugeDataPoint running;
  private final GaugeDataPoint waiting;
  private final GaugeDataPoint kvUsage;
  private final GaugeDataPoint kvUsageOld; // null unless legacyNames
  private final CounterDataPoint prefixQueries;
  private final CounterDataPoint prefixHits;
  private final CounterDataPoint preemptions;
  private final CounterDataPoint promptTokens;
  private final CounterDataPoint generationTokens;
  private final CounterDataPoint successStop;
  private final CounterDataPoint successLength;
  private final CounterDataPoint successAbort;
  private final CounterDataPoint successError;
  private final DistributionDataPoint ttft;
  private final DistributionDataPoint interTokenLatency;
  private final DistributionDataPoint timePerOutputTokenOld;
  private final DistributionDataPoint requestTimePerOutputToken;
  private final DistributionDataPoint e2e;
  private final DistributionDataPoint queue;
  private final DistributionDataPoint inference;
  private final DistributionDataPoint prefill;
  private final DistributionDataPoint decode;
  private final DistributionDataPoint requestPromptTokens;
  private final DistributionDataPoint requestGenerationTokens;
  private final DistributionDataPoint requestMaxTokens;
  private final DistributionDataPoint iterationTokens;

  /**
   * @param modelName the served model name (label {@code model_name})
   * @param engineIndex the engine index as a string (label {@code engine}), "0" for the first
   * @param maxModelLen the top of the 1-2-5 buckets of the per-request token histograms
   * @param cacheConfig labels of vllm:cache_config_info: CacheConfig fields as strings, in the
   *     order given; {@code engine} is added last (a value given for it is replaced)
   * @param legacyNames also export vllm:gpu_cache_usage_perc, the name vLLM deprecated in 0.9.
   *     vllm:time_per_output_token_seconds (renamed in 0.11) is always exported next to
   *     vllm:inter_token_latency_seconds, so scrapers of either generation find it.
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

    // The client strips "_total" from a counter's name and writes it back on each sample, so
    // the scraped names are exactly vLLM's.
    Counter success =
        Counter.builder()
            .name(REQUEST_SUCCESS)
            .help("Count of successfully processed requests.")
            .labelNames(LABEL_MODEL_NAME, LABEL_ENGINE, LABEL_FINISHED_REASON)
            .withoutExemplars()
            .register(registry);
    successStop = success.labelValues(model, engine, "stop");
    successLength = success.labelValues(model, engine, "length");
    successAbort = success.labelValues(model, engine, "abort");
    successError = success.labelValues(model, engine, "error");

    ttft =
        histogram(
            TIME_TO_FIRST_TOKEN, "Histogram of time to first token in seconds.", ttftBuckets());
    interTokenLatency =
        histogram(
            INTER_TOKEN_LATENCY,
            "Histogram of inter-token latency in seconds.",
            interTokenBuckets());
    timePerOutputTokenOld =
        histogram(
            TIME_PER_OUTPUT_TOKEN_OLD,
            // vLLM's text, missing space included.
            "Histogram of time per output token in seconds."
                + "DEPRECATED: Use vllm:inter_token_latency_seconds instead.",
            interTokenBuckets());
    requestTimePerOutputToken =
        histogram(
            REQUEST_TIME_PER_OUTPUT_TOKEN,
            "Histogram of time_per_output_token_seconds per request.",
            interTokenBuckets());
    e2e =
        histogram(
            E2E_REQUEST_LATENCY,
            "Histogram of e2e request latency in seconds.",
            requestLatencyBuckets());
    queue =
        histogram(
            REQUEST_QUEUE_TIME,
            "Histogram of time spent in WAITING phase for request.",
            requestLatencyBuckets());
    inference =
        histogram(
            REQUEST_INFERENCE_TIME,
            "Histogram of time spent in RUNNING phase for request.",
            requestLatencyBuckets());
    prefill =
        histogram(
            REQUEST_PREFILL_TIME,
            "Histogram of time spent in PREFILL phase for request.",
            requestLatencyBuckets());
    decode =
        histogram(
            REQUEST_DECODE_TIME,
            "Histogram of time spent in DECODE phase for request.",
            requestLatencyBuckets());
    double[] lengths = oneTwoFiveBuckets(maxModelLen);
    requestPromptTokens =
        histogram(REQUEST_PROMPT_TOKENS, "Number of prefill tokens processed.", lengths);
    requestGenerationTokens =
        histogram(REQUEST_GENERATION_TOKENS, "Number of generation tokens processed.", lengths);
    requestMaxTokens =
        histogram(
            REQUEST_PARAMS_MAX_TOKENS, "Histogram of the max_tokens request parameter.", lengths);
    // A histogram whose name ends in _total, as in vLLM: the client keeps the name as given, so
    // its samples are vllm:iteration_tokens_total_bucket/_sum/_count.
    iterationTokens =
        histogram(
            ITERATION_TOKENS,
            "Histogram of number of tokens per engine_step.",
            iterationTokenBuckets());

    // vLLM emulates an Info metric with a gauge set to 1, labelled by every CacheConfig field and
    // the engine index (no model_name).
    List<String> infoLabels = new ArrayList<>(cacheConfig.keySet());
    infoLabels.remove(LABEL_ENGINE);
    infoLabels.add(LABEL_ENGINE);
    String[] infoValues = new String[infoLabels.size()];
    for (int i = 0; i < infoValues.length - 1; i++) {
      infoValues[i] = cacheConfig.get(infoLabels.get(i));
    }
    infoValues[infoValues.length - 1] = engine;
    Gauge.builder()
        .name(CACHE_CONFIG_INFO)
        .help("Information of the LLMEngine CacheConfig")
        .labelNames(infoLabels.toArray(String[]::new))
        .withoutExemplars()
        .register(registry)
        .labelValues(infoValues)
        .set(1);
  }

  /**
   * Adds a simulator-specific counter read at scrape time (e.g. the driver's step accounting), with
   * the same {@code model_name} and {@code engine} labels.
   */
  public void counterCallback(String name, String help, DoubleSupplier value) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames(LABEL_MODEL_NAME, LABEL_ENGINE)
        .callback(cb -> cb.call(value.getAsDouble(), model, engine))
        .register(registry);
  }

  // Label values are set at construction, so every series shows from the first scrape at 0, as
  // vLLM's do.

  private GaugeDataPoint gauge(String name, String help) {
    return Gauge.builder()
        .name(name)
        .help(help)
        .labelNames(LABEL_MODEL_NAME, LABEL_ENGINE)
        .withoutExemplars()
        .register(registry)
        .labelValues(model, engine);
  }

  private CounterDataPoint counter(String name, String help) {
    return Counter.builder()
        .name(name)
        .help(help)
        .labelNames(LABEL_MODEL_NAME, LABEL_ENGINE)
        .withoutExemplars()
        .register(registry)
        .labelValues(model, engine);
  }

  private DistributionDataPoint histogram(String name, String help, double[] buckets) {
    return Histogram.builder()
        .name(name)
        .help(help)
        .labelNames(LABEL_MODEL_NAME, LABEL_ENGINE)
        .classicOnly()
        .classicUpperBounds(buckets)
        .withoutExemplars()
        .register(registry)
        .labelValues(model, engine);
  }

  private Gauge loraInfo;
  private String loraMax;
  private String[] loraLabels;

  /**
   * Turns on {@code vllm:lora_requests_info} (an engine serving LoRA adapters): a gauge whose value
   * is the time of the last change and whose labels name the adapters in use.
   */
  public void enableLoraInfo(int maxLoras) {
    loraMax = Integer.toString(maxLoras);
    loraInfo =
        Gauge.builder()
            .name("vllm:lora_requests_info")
            .help("Running stats on lora requests.")
            .labelNames("max_lora", "waiting_lora_adapters", "running_lora_adapters")
            .withoutExemplars()
            .register(registry);
    loras(List.of(), List.of());
  }

  /**
   * The adapters of the running batch and the waiting queue after a step. vLLM adds a series per
   * label combination it ever saw; we keep only the current one (the newest timestamp is what
   * readers take), so the series count stays bounded by one.
   */
  public void loras(List<String> running, List<String> waiting) {
    String r = String.join(",", running);
    String w = String.join(",", waiting);
    String[] labels = loraLabels;
    if (labels != null && labels[1].equals(w) && labels[2].equals(r)) {
      return;
    }
    if (labels != null) {
      loraInfo.remove(labels);
    }
    loraLabels = new String[] {loraMax, w, r};
    loraInfo.labelValues(loraLabels).set(System.currentTimeMillis() / 1000.0);
  }

  /** The scheduler's state after a step; kvUsage is the fraction of KV blocks in use (0..1). */
  public void setQueueState(int numRunning, int numWaiting, double kvCacheUsage) {
    running.set(numRunning);
    waiting.set(numWaiting);
    kvUsage.set(kvCacheUsage);
    if (kvUsageOld != null) {
      kvUsageOld.set(kvCacheUsage);
    }
  }

  /** A prefix-cache lookup, counted in tokens as vLLM does. */
  public void prefixCacheQueried(long queryTokens, long hitTokens) {
    prefixQueries.inc(queryTokens);
    prefixHits.inc(hitTokens);
  }

  public void preempted() {
    preemptions.inc();
  }

  /**
   * A request's prefill completed: its whole prompt length, counted once per request (vLLM V1
   * counts {@code prompt_len} when the first token of a request comes out).
   */
  public void promptTokens(long n) {
    promptTokens.inc(n);
  }

  /** One engine step that scheduled {@code tokensInStep} tokens. */
  public void iteration(int tokensInStep) {
    iterationTokens.observe(tokensInStep);
  }

  /** A request's first token; it also counts as one generated token. */
  public void firstToken(double ttftSeconds) {
    ttft.observe(ttftSeconds);
    generationTokens.inc();
  }

  /** A later token and its gap from the previous one; it counts as one generated token. */
  public void interToken(double seconds) {
    interTokenLatency.observe(seconds);
    timePerOutputTokenOld.observe(seconds);
    generationTokens.inc();
  }

  /**
   * A request left the engine. Inference time is prefill + decode (vLLM's RUNNING phase). As in
   * vLLM, the per-request time per output token is decode time / (tokens - 1), observed as 0 for
   * requests with at most one token, and max_tokens is observed only when the request set it
   * ({@code maxTokensParam > 0}).
   *
   * @param finishReason stop, length, abort or error
   * @throws IllegalArgumentException for any other finish reason
   */
  public void requestFinished(
      String finishReason,
      int promptTokenCount,
      int generationTokenCount,
      int maxTokensParam,
      double e2eSeconds,
      double queueSeconds,
      double prefillSeconds,
      double decodeSeconds) {
    CounterDataPoint success =
        switch (finishReason) {
          case "stop" -> successStop;
          case "length" -> successLength;
          case "abort" -> successAbort;
          case "error" -> successError;
          default -> throw new IllegalArgumentException("unknown finish reason: " + finishReason);
        };
    success.inc();
    e2e.observe(e2eSeconds);
    queue.observe(queueSeconds);
    inference.observe(prefillSeconds + decodeSeconds);
    prefill.observe(prefillSeconds);
    decode.observe(decodeSeconds);
    requestPromptTokens.observe(promptTokenCount);
    requestGenerationTokens.observe(generationTokenCount);
    requestTimePerOutputToken.observe(
        generationTokenCount > 1 ? decodeSeconds / (generationTokenCount - 1) : 0);
    if (maxTokensParam > 0) {
      requestMaxTokens.observe(maxTokensParam);
    }
  }

  /** Writes every series of this engine in Prometheus text format 0.0.4. */
  public void writeTo(OutputStream out) throws IOException {
    writer.write(out, registry.scrape());
  }

  /** {@code text/plain; version=0.0.4; charset=utf-8} */
  public String contentType() {
    return writer.getContentType();
  }
}
