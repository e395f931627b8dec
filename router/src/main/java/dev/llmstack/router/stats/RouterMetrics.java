package dev.llmstack.router.stats;

import dev.llmstack.router.backend.Backend;
import dev.llmstack.router.backend.BackendRegistry;
import dev.llmstack.router.kvindex.ApproximatePrefixIndex;
import dev.llmstack.router.kvindex.KvBlockIndex;
import dev.llmstack.router.proxy.RouterObserver;
import dev.llmstack.router.routing.Decision;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * The router's own Prometheus metrics, prefixed {@code llmstack_router_}. Label values are only
 * engine ids the router discovered and models those engines serve, never a client's string.
 *
 * <p>The data path touches pre-resolved data points only (one map lookup per attempt, none per
 * chunk). Per-engine gauges are callbacks that read the registry at scrape time, so a scrape costs
 * one pass over the engines however many there are, and nothing between scrapes.
 */
public final class RouterMetrics implements RouterObserver {

  /*
   * Bucket bounds are few on purpose: every bound is one line per (engine, model) in every scrape,
   * and a fleet of many engines multiplies them. Twelve or so per histogram keep quantiles usable.
   */

  /** Time to first token: tens of milliseconds when idle, seconds to minutes when queued. */
  private static final double[] TTFT_BUCKETS = {
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0
  };

  /** Inter-token gaps: milliseconds (a decode step), up to seconds under preemption. */
  private static final double[] ITL_BUCKETS = {
    0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5
  };

  /** End to end: a whole generation, up to ten minutes. */
  private static final double[] E2E_BUCKETS = {
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0
  };

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private final BackendRegistry backends;
  private final Counter requests;
  private final Counter failures;
  private final Counter retries;
  private final Counter decisions;
  private final Counter rejected;
  private final Counter promptKeys;
  private final Histogram promptKeysSeconds;
  private final Histogram firstToken;
  private final Histogram interToken;
  private final Histogram duration;
  private final Counter promptTokens;
  private final Counter generationTokens;
  private final Counter predictedCached;
  private final Counter actualCached;
  private final Counter cachedError;
  private final FleetTotals fleet = new FleetTotals(TTFT_BUCKETS, ITL_BUCKETS);
  private final DoubleAdder errorSum = new DoubleAdder();
  private final DoubleAdder actualSum = new DoubleAdder();

  /** Engine, then model: two lookups on the data path instead of building a key per request. */
  private final ConcurrentHashMap<String, ConcurrentHashMap<String, EngineModelSeries>> series =
      new ConcurrentHashMap<>();

  public RouterMetrics(BackendRegistry backends) {
    this.backends = backends;
    // Without exemplars throughout: the router has no trace context to attach to them, and the
    // exemplar sampler would run on every observation of the request path.
    requests =
        Counter.builder()
            .name("llmstack_router_requests_total")
            .help("Proxied requests by engine, model and HTTP status.")
            .labelNames("engine", "model", "code")
            .withoutExemplars()
            .register(registry);
    failures =
        Counter.builder()
            .name("llmstack_router_engine_failures_total")
            .help(
                "Failed attempts by engine and kind (connect, status, midstream, client-disconnect).")
            .labelNames("engine", "kind")
            .withoutExemplars()
            .register(registry);
    retries =
        Counter.builder()
            .name("llmstack_router_retries_total")
            .help("Requests moved to another engine after a failure on this one.")
            .labelNames("engine")
            .withoutExemplars()
            .register(registry);
    decisions =
        Counter.builder()
            .name("llmstack_router_routing_decisions_total")
            .help("Routing decisions by policy, reason (its first word) and chosen engine.")
            .labelNames("policy", "reason", "engine")
            .withoutExemplars()
            .register(registry);
    rejected =
        Counter.builder()
            .name("llmstack_router_rejected_requests_total")
            .help("Requests the router answered itself with an error, by status.")
            .labelNames("code")
            .withoutExemplars()
            .register(registry);
    promptKeys =
        Counter.builder()
            .name("llmstack_router_prompt_keys_total")
            .help(
                "Cache-aware routing's prompt keys by source: tokens (the model's tokenizer),"
                    + " characters (no tokenizer: character blocks, approximate index only) or none"
                    + " (unreadable body: routed by load).")
            .labelNames("source")
            .withoutExemplars()
            .register(registry);
    promptKeysSeconds =
        Histogram.builder()
            .name("llmstack_router_prompt_keys_seconds")
            .help(
                "Time to compute a request's prompt keys for cache-aware routing (chat template,"
                    + " tokenizer, hashing), on the router's worker pool before routing.")
            .classicUpperBounds(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
            .classicOnly()
            .withoutExemplars()
            .register(registry);
    firstToken =
        histogram(
            "llmstack_router_time_to_first_token_seconds",
            TTFT_BUCKETS,
            "From request arrival to the first piece of a streamed (SSE) response.");
    interToken =
        histogram(
            "llmstack_router_inter_token_latency_seconds",
            ITL_BUCKETS,
            "Gaps between successive pieces of a streamed response (one per engine step).");
    duration =
        histogram(
            "llmstack_router_request_duration_seconds",
            E2E_BUCKETS,
            "From request arrival to the last response byte (end-to-end latency).");
    promptTokens =
        Counter.builder()
            .name("llmstack_router_prompt_tokens_total")
            .help("Prompt tokens of finished requests, from the engines' usage.")
            .labelNames("engine", "model")
            .withoutExemplars()
            .register(registry);
    generationTokens =
        Counter.builder()
            .name("llmstack_router_generation_tokens_total")
            .help("Generated tokens of finished requests, from the engines' usage.")
            .labelNames("engine", "model")
            .withoutExemplars()
            .register(registry);
    predictedCached =
        Counter.builder()
            .name("llmstack_router_predicted_cached_tokens_total")
            .help(
                "Prompt tokens cache-aware routing expected each engine to serve from its prefix cache.")
            .labelNames("engine")
            .withoutExemplars()
            .register(registry);
    actualCached =
        Counter.builder()
            .name("llmstack_router_actual_cached_tokens_total")
            .help(
                "Prompt tokens the engines reported served from cache (usage.prompt_tokens_details).")
            .labelNames("engine")
            .withoutExemplars()
            .register(registry);
    cachedError =
        Counter.builder()
            .name("llmstack_router_cached_tokens_prediction_error_total")
            .help("Sum of |predicted - actual| cached tokens over cache-aware decisions.")
            .labelNames("engine")
            .withoutExemplars()
            .register(registry);
    GaugeWithCallback.builder()
        .name("llmstack_router_cache_prediction_accuracy")
        .help(
            "1 - sum|predicted - actual| / sum(max(predicted, actual)) over cache-aware decisions so far.")
        .callback(
            cb -> {
              double denom = actualSum.sum();
              cb.call(denom == 0 ? 1.0 : Math.max(0, 1 - errorSum.sum() / denom));
            })
        .register(registry);
    engineGauge(
        "llmstack_router_engine_in_flight",
        "Requests this router has in flight at each engine.",
        b -> b.inFlight());
    engineGauge(
        "llmstack_router_engine_routable",
        "1 when the engine takes new requests (healthy or on probation, not draining).",
        b -> b.routable(System.nanoTime()) ? 1 : 0);
    engineGauge(
        "llmstack_router_engine_up",
        "1 when the engine's last /health probe passed.",
        b -> b.probedUp() ? 1 : 0);
    engineGauge(
        "llmstack_router_engine_scrape_age_seconds",
        "Seconds since the engine's /metrics was last scraped successfully (+Inf: never).",
        b -> {
          long at = b.stats().scrapedAtNanos();
          return at == 0 ? Double.POSITIVE_INFINITY : (System.nanoTime() - at) / 1e9;
        });
    engineGauge(
        "llmstack_router_engine_requests_running",
        "vllm:num_requests_running at the engine's last scrape.",
        b -> b.stats().running());
    engineGauge(
        "llmstack_router_engine_requests_waiting",
        "vllm:num_requests_waiting at the engine's last scrape.",
        b -> b.stats().waiting());
    engineGauge(
        "llmstack_router_engine_max_loras",
        "max_lora of vllm:lora_requests_info at the engine's last scrape (0: no LoRA adapters).",
        b -> b.stats().maxLoras());
    engineGauge(
        "llmstack_router_engine_active_loras",
        "LoRA adapters the engine is busy with: this router's requests in flight there plus those"
            + " its last scrape showed running. At max_loras, requests for other adapters wait.",
        b -> b.activeLoras().size());
    engineGauge(
        "llmstack_router_engine_kv_cache_usage_ratio",
        "vllm:kv_cache_usage_perc (0..1) at the engine's last scrape.",
        b -> b.stats().kvUsage());
    engineCounter(
        "llmstack_router_engine_prefix_cache_queries_total",
        "vllm:prefix_cache_queries_total at the engine's last scrape (tokens).",
        b -> b.stats().prefixQueries());
    engineCounter(
        "llmstack_router_engine_prefix_cache_hits_total",
        "vllm:prefix_cache_hits_total at the engine's last scrape (tokens).",
        b -> b.stats().prefixHits());
    CounterWithCallback.builder()
        .name("llmstack_router_engine_scrapes_total")
        .help("Scrapes of each engine's /metrics by result (ok, error).")
        .labelNames("engine", "result")
        .callback(
            cb -> {
              for (Backend b : backends.all()) {
                cb.call(b.scrapesOk(), b.id(), "ok");
                cb.call(b.scrapesFailed(), b.id(), "error");
              }
            })
        .register(registry);
  }

  private Histogram histogram(String name, double[] buckets, String help) {
    return Histogram.builder()
        .name(name)
        .help(help)
        .labelNames("engine", "model")
        .classicUpperBounds(buckets)
        .classicOnly()
        .withoutExemplars()
        .register(registry);
  }

  private void engineGauge(
      String name, String help, java.util.function.ToDoubleFunction<Backend> value) {
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames("engine")
        .callback(
            cb -> {
              for (Backend b : backends.all()) {
                cb.call(value.applyAsDouble(b), b.id());
              }
            })
        .register(registry);
  }

  private void engineCounter(
      String name, String help, java.util.function.ToDoubleFunction<Backend> value) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames("engine")
        .callback(
            cb -> {
              for (Backend b : backends.all()) {
                cb.call(value.applyAsDouble(b), b.id());
              }
            })
        .register(registry);
  }

  /**
   * Index sizes per engine: blocks the precise (KV-event) index holds and blocks the approximate
   * index remembers sending. Read under the index's lock once per engine and scrape.
   */
  public void indexes(KvBlockIndex precise, ApproximatePrefixIndex approximate) {
    engineGauge(
        "llmstack_router_kv_index_blocks",
        "Blocks the KV-event index holds for each engine.",
        b -> precise.size(b.id()));
    GaugeWithCallback.builder()
        .name("llmstack_router_kv_index_distinct_blocks")
        .help("Distinct blocks in the KV-event index over all engines.")
        .callback(cb -> cb.call(precise.size()))
        .register(registry);
    engineGauge(
        "llmstack_router_prefix_index_blocks",
        "Blocks the approximate prefix index remembers sending each engine.",
        b -> approximate.size(b.id()));
  }

  /**
   * Drops every series of an engine that left, so label sets do not pile up as pods come and go (a
   * Kubernetes fleet churns engines; each would otherwise leave ~100 dead series behind). Callback
   * gauges need nothing: they only ever list the engines present.
   */
  public void forget(String engine) {
    series.remove(engine);
    for (var m :
        List.of(
            requests,
            failures,
            retries,
            firstToken,
            interToken,
            duration,
            promptTokens,
            generationTokens,
            predictedCached,
            actualCached,
            cachedError)) {
      m.removeIf(labels -> labels.get(0).equals(engine)); // engine is their first label
    }
    decisions.removeIf(labels -> labels.get(2).equals(engine));
  }

  /** Status codes below this get a cached data point (all HTTP ones do). */
  private static final int STATUS_LIMIT = 600;

  /** Data points of one (engine, model), resolved once. */
  private final class EngineModelSeries implements Series {
    private final String engine;
    private final String model;
    private final DistributionDataPoint ttft;
    private final DistributionDataPoint itl;
    private final DistributionDataPoint e2e;
    private final CounterDataPoint prompt;
    private final CounterDataPoint generation;
    // Indexed by status code: no boxing and no lookup on the request path.
    private final AtomicReferenceArray<CounterDataPoint> byStatus =
        new AtomicReferenceArray<>(STATUS_LIMIT);

    EngineModelSeries(String engine, String model) {
      this.engine = engine;
      this.model = model;
      ttft = firstToken.labelValues(engine, model);
      itl = interToken.labelValues(engine, model);
      e2e = duration.labelValues(engine, model);
      prompt = promptTokens.labelValues(engine, model);
      generation = generationTokens.labelValues(engine, model);
    }

    private CounterDataPoint statusCounter(int status) {
      if (status < 0 || status >= STATUS_LIMIT) {
        return requests.labelValues(engine, model, Integer.toString(status));
      }
      CounterDataPoint c = byStatus.get(status);
      if (c == null) {
        c = requests.labelValues(engine, model, Integer.toString(status)); // the same on a race
        byStatus.set(status, c);
      }
      return c;
    }

    @Override
    public void firstToken(long nanos) {
      double seconds = nanos / 1e9;
      ttft.observe(seconds);
      fleet.ttft.observe(seconds);
    }

    @Override
    public void interToken(long nanos) {
      double seconds = nanos / 1e9;
      itl.observe(seconds);
      fleet.itl.observe(seconds);
    }

    @Override
    public void finished(int status, long nanos, long promptTok, long completionTok) {
      statusCounter(status).inc();
      e2e.observe(nanos / 1e9);
      if (promptTok > 0) {
        prompt.inc(promptTok);
      }
      if (completionTok > 0) {
        generation.inc(completionTok);
      }
      fleet.finished(status, promptTok, completionTok);
    }
  }

  @Override
  public Series series(String engine, String model) {
    ConcurrentHashMap<String, EngineModelSeries> byModel = series.get(engine);
    if (byModel == null) {
      byModel = series.computeIfAbsent(engine, e -> new ConcurrentHashMap<>());
    }
    EngineModelSeries s = byModel.get(model);
    return s != null ? s : byModel.computeIfAbsent(model, m -> new EngineModelSeries(engine, m));
  }

  @Override
  public void routed(
      String requestId, String model, String policy, Decision decision, boolean retry) {
    decisionPoint(policy, reasonKind(decision.reason()), decision.backend().id()).inc();
  }

  /**
   * The decisions counter's data point for these labels, looked up without allocating: the client's
   * labelValues(String...) makes an array and a list per call, on every request.
   */
  private CounterDataPoint decisionPoint(String policy, String kind, String engine) {
    var byKind = decisionPoints.get(policy);
    var byEngine = byKind == null ? null : byKind.get(kind);
    var point = byEngine == null ? null : byEngine.get(engine);
    if (point != null) {
      return point;
    }
    return decisionPoints
        .computeIfAbsent(policy, p -> new ConcurrentHashMap<>())
        .computeIfAbsent(kind, k -> new ConcurrentHashMap<>())
        .computeIfAbsent(engine, e -> decisions.labelValues(policy, kind, engine));
  }

  private final ConcurrentHashMap<
          String, ConcurrentHashMap<String, ConcurrentHashMap<String, CounterDataPoint>>>
      decisionPoints = new ConcurrentHashMap<>();

  @Override
  public void failed(String engine, String kind) {
    failures.labelValues(engine, kind).inc();
  }

  @Override
  public void retried(String engine) {
    retries.labelValues(engine).inc();
  }

  @Override
  public void cacheOutcome(String engine, int predicted, int actual) {
    predictedCached.labelValues(engine).inc(predicted);
    actualCached.labelValues(engine).inc(actual);
    cachedError.labelValues(engine).inc(Math.abs(predicted - actual));
    errorSum.add(Math.abs(predicted - actual));
    actualSum.add(Math.max(predicted, actual));
  }

  /** Which path cache-aware routing took to its prompt keys. */
  public void promptKeys(dev.llmstack.router.routing.RouteRequest.KeySource source, long nanos) {
    promptKeys.labelValues(source.name().toLowerCase(java.util.Locale.ROOT)).inc();
    promptKeysSeconds.observe(nanos / 1e9);
  }

  @Override
  public void rejected(int status) {
    rejected.labelValues(Integer.toString(status)).inc();
  }

  /** The fixed word a reason starts with ("load=3" -> "load"), so labels stay a small known set. */
  static String reasonKind(String reason) {
    int end = 0;
    while (end < reason.length()
        && (Character.isLetter(reason.charAt(end)) || reason.charAt(end) == '-')) {
      end++;
    }
    return end == 0 ? "other" : reason.substring(0, end);
  }

  /**
   * Fleet-wide cumulative totals for the dashboard's once-a-second sampler: it keeps the previous
   * totals and turns differences into rates and quantiles. From {@link FleetTotals}: a few adders,
   * not a snapshot of every series.
   */
  public record Totals(
      long requests,
      long errors,
      double generationTokens,
      double promptTokens,
      Buckets ttft,
      Buckets itl) {}

  /**
   * Observations so far per bucket (not cumulative across buckets: each count is for its own
   * range), summed over all series of one histogram; the last bound is +Inf.
   */
  public record Buckets(double[] upperBounds, long[] counts) {}

  public Totals totals() {
    return fleet.snapshot();
  }

  public void writeTo(OutputStream out) throws IOException {
    writer.write(out, registry.scrape());
  }

  public String contentType() {
    return writer.getContentType();
  }
}
