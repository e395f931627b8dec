package dev.llmstack.router.stats;

import dev.llmstack.router.backend.Backend;
import dev.llmstack.router.backend.BackendRegistry;
import dev.llmstack.router.proxy.RouterObserver;
import dev.llmstack.router.routing.Decision;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;

/**
 * The router's own Prometheus metrics, prefixed {@code llmstack_}. Label values are only engine ids
 * the router discovered and models those engines serve, never a client's string.
 */
public final class RouterMetrics implements RouterObserver {

  private static final double[] LATENCY_BUCKETS = {
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0
  };

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private final Counter requests;
  private final Counter failures;
  private final Counter retries;
  private final Counter decisions;
  private final Counter rejected;
  private final Histogram firstByte;
  private final Counter predictedCached;
  private final Counter actualCached;
  private final Counter cachedError;
  private final java.util.concurrent.atomic.DoubleAdder errorSum =
      new java.util.concurrent.atomic.DoubleAdder();
  private final java.util.concurrent.atomic.DoubleAdder actualSum =
      new java.util.concurrent.atomic.DoubleAdder();
  private final Histogram duration;

  public RouterMetrics(BackendRegistry backends) {
    requests =
        Counter.builder()
            .name("llmstack_router_requests_total")
            .help("Proxied requests by engine, model and HTTP status.")
            .labelNames("engine", "model", "code")
            .register(registry);
    failures =
        Counter.builder()
            .name("llmstack_router_engine_failures_total")
            .help(
                "Failed attempts by engine and kind (connect, status, midstream, client-disconnect).")
            .labelNames("engine", "kind")
            .register(registry);
    retries =
        Counter.builder()
            .name("llmstack_router_retries_total")
            .help("Requests moved to another engine after a failure on this one.")
            .labelNames("engine")
            .register(registry);
    decisions =
        Counter.builder()
            .name("llmstack_router_routing_decisions_total")
            .help("Routing decisions by policy and reason.")
            .labelNames("policy", "reason")
            .register(registry);
    rejected =
        Counter.builder()
            .name("llmstack_router_rejected_requests_total")
            .help("Requests the router answered itself with an error, by status.")
            .labelNames("code")
            .register(registry);
    firstByte =
        Histogram.builder()
            .name("llmstack_router_time_to_first_byte_seconds")
            .help("From request arrival to the engine's first response byte.")
            .labelNames("engine")
            .classicUpperBounds(LATENCY_BUCKETS)
            .classicOnly()
            .register(registry);
    duration =
        Histogram.builder()
            .name("llmstack_router_request_duration_seconds")
            .help("From request arrival to the last response byte.")
            .labelNames("engine")
            .classicUpperBounds(LATENCY_BUCKETS)
            .classicOnly()
            .register(registry);
    predictedCached =
        Counter.builder()
            .name("llmstack_router_predicted_cached_tokens_total")
            .help(
                "Prompt tokens cache-aware routing expected each engine to serve from its prefix cache.")
            .labelNames("engine")
            .register(registry);
    actualCached =
        Counter.builder()
            .name("llmstack_router_actual_cached_tokens_total")
            .help(
                "Prompt tokens the engines reported served from cache (usage.prompt_tokens_details).")
            .labelNames("engine")
            .register(registry);
    cachedError =
        Counter.builder()
            .name("llmstack_router_cached_tokens_prediction_error_total")
            .help("Sum of |predicted - actual| cached tokens over cache-aware decisions.")
            .labelNames("engine")
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
    GaugeWithCallback.builder()
        .name("llmstack_router_engine_in_flight")
        .help("Requests this router has in flight at each engine.")
        .labelNames("engine")
        .callback(
            cb -> {
              for (Backend b : backends.all()) {
                cb.call(b.inFlight(), b.id());
              }
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("llmstack_router_engine_routable")
        .help("1 when the engine takes new requests (healthy or on probation, not draining).")
        .labelNames("engine")
        .callback(
            cb -> {
              long now = System.nanoTime();
              for (Backend b : backends.all()) {
                cb.call(b.routable(now) ? 1 : 0, b.id());
              }
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("llmstack_router_engine_scrape_age_seconds")
        .help("Seconds since the engine's /metrics was last scraped successfully.")
        .labelNames("engine")
        .callback(
            cb -> {
              long now = System.nanoTime();
              for (Backend b : backends.all()) {
                long at = b.stats().scrapedAtNanos();
                cb.call(at == 0 ? Double.POSITIVE_INFINITY : (now - at) / 1e9, b.id());
              }
            })
        .register(registry);
  }

  /** Per-engine series handles, so the data path does no label lookups. */
  private record EngineSeries(
      io.prometheus.metrics.core.datapoints.DistributionDataPoint firstByte,
      io.prometheus.metrics.core.datapoints.DistributionDataPoint duration) {}

  private final java.util.concurrent.ConcurrentHashMap<String, EngineSeries> series =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.ConcurrentHashMap<
          String, io.prometheus.metrics.core.datapoints.CounterDataPoint>
      counters = new java.util.concurrent.ConcurrentHashMap<>();

  private EngineSeries seriesOf(String engine) {
    return series.computeIfAbsent(
        engine, e -> new EngineSeries(firstByte.labelValues(e), duration.labelValues(e)));
  }

  private io.prometheus.metrics.core.datapoints.CounterDataPoint requestCounter(
      String engine, String model, int status) {
    String key = engine + '\u0000' + model + '\u0000' + status;
    io.prometheus.metrics.core.datapoints.CounterDataPoint c = counters.get(key);
    if (c == null) {
      c = requests.labelValues(engine, model, Integer.toString(status));
      counters.put(key, c);
    }
    return c;
  }

  @Override
  public void routed(String policy, Decision decision, boolean retry) {
    decisions.labelValues(policy, reasonKind(decision.reason())).inc();
  }

  @Override
  public void firstByte(String engine, long nanos) {
    seriesOf(engine).firstByte().observe(nanos / 1e9);
  }

  @Override
  public void failed(String engine, String kind) {
    failures.labelValues(engine, kind).inc();
  }

  @Override
  public void retried(String engine) {
    retries.labelValues(engine).inc();
  }

  @Override
  public void finished(String engine, String model, int status, long nanos) {
    requestCounter(engine, model, status).inc();
    seriesOf(engine).duration().observe(nanos / 1e9);
  }

  @Override
  public void cacheOutcome(String engine, int predicted, int actual) {
    predictedCached.labelValues(engine).inc(predicted);
    actualCached.labelValues(engine).inc(actual);
    cachedError.labelValues(engine).inc(Math.abs(predicted - actual));
    errorSum.add(Math.abs(predicted - actual));
    actualSum.add(Math.max(predicted, actual));
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

  public void writeTo(OutputStream out) throws IOException {
    writer.write(out, registry.scrape());
  }

  public String contentType() {
    return writer.getContentType();
  }
}
