package dev.llmstack.router.ui;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstack.router.backend.Backend;
import dev.llmstack.router.backend.BackendRegistry;
import dev.llmstack.router.backend.EngineStats;
import dev.llmstack.router.stats.RouterMetrics;
import dev.llmstack.router.threads.BackgroundThreads;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What /dashboard/api/state answers, rebuilt once a second on its own thread: the engine table, the
 * last five minutes of fleet time series and the recent routing decisions. The time series come
 * from differences of the router's own cumulative metrics between samples, so the data path pays
 * nothing for them; every viewer gets the same prebuilt bytes, so viewers cost nothing either.
 */
public final class DashboardState implements AutoCloseable {

  /** Samples kept: five minutes at one a second. */
  static final int HISTORY = 300;

  /** Quantiles are taken over this many seconds of histogram differences, to smooth sparse data. */
  private static final int QUANTILE_WINDOW = 5;

  private static final int DECISIONS_SHOWN = 50;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One point of the fleet time series; NaN where nothing happened in the window. */
  record Sample(
      long epochMillis,
      double requestsPerSecond,
      double errorsPerSecond,
      double tokensPerSecond,
      double ttftP50,
      double ttftP95,
      double itlP50,
      double itlP95,
      int inFlight) {}

  private final BackendRegistry backends;
  private final RouterMetrics metrics;
  private final DecisionLog decisions;
  private final long intervalMs;
  private final ArrayDeque<RouterMetrics.Totals> totals = new ArrayDeque<>();
  private final ArrayDeque<Sample> samples = new ArrayDeque<>();
  private final Map<String, double[]> lastPrefix = new HashMap<>();
  private final Map<String, Double> hitRate = new HashMap<>();
  private final ScheduledExecutorService timer;

  /**
   * How long after the last look at the state the sampler goes on rendering it every tick. A router
   * nobody watches renders nothing: the JSON cost more CPU than the sample, on a thread that
   * competes with the proxy's.
   */
  private static final long VIEWER_NANOS = TimeUnit.SECONDS.toNanos(10);

  private volatile long lastViewedNanos = System.nanoTime() - VIEWER_NANOS;
  private volatile byte[] json; // written under this lock; null when stale

  public DashboardState(
      BackendRegistry backends,
      RouterMetrics metrics,
      DecisionLog decisions,
      long intervalMs,
      BackgroundThreads threads) {
    // below the event loops (BackgroundThreads, docs/configuration.md)
    this.timer = Executors.newSingleThreadScheduledExecutor(threads.factory("dashboard-sampler"));
    this.backends = backends;
    this.metrics = metrics;
    this.decisions = decisions;
    this.intervalMs = intervalMs;
  }

  public DashboardState start() {
    sample();
    timer.scheduleAtFixedRate(this::sampleSafely, intervalMs, intervalMs, TimeUnit.MILLISECONDS);
    return this;
  }

  /**
   * The latest state as JSON. Rendered here only for the first look after nobody watched for a
   * while; while someone watches, the sampler renders each tick.
   */
  public byte[] json() {
    lastViewedNanos = System.nanoTime();
    byte[] rendered = json; // the usual case: no lock
    if (rendered != null) {
      return rendered;
    }
    synchronized (this) {
      if (json == null) {
        json = render(System.currentTimeMillis());
      }
      return json;
    }
  }

  private void sampleSafely() {
    try {
      sample();
    } catch (RuntimeException e) {
      // a view must never take the sampler down; the next second tries again
      java.util.logging.Logger.getLogger(DashboardState.class.getName())
          .warning(() -> "dashboard sample failed: " + e);
    }
  }

  /** Takes one sample and rebuilds the JSON. Runs on the sampler thread only. */
  synchronized void sample() {
    long now = System.currentTimeMillis();
    RouterMetrics.Totals t = metrics.totals();
    RouterMetrics.Totals prev = totals.peekLast();
    RouterMetrics.Totals windowStart = totals.isEmpty() ? null : totals.peekFirst();
    totals.addLast(t);
    while (totals.size() > QUANTILE_WINDOW) {
      totals.removeFirst();
    }
    int inFlight = 0;
    for (Backend b : backends.all()) {
      inFlight += b.inFlight();
    }
    double secs = intervalMs / 1000.0;
    if (prev != null) {
      samples.addLast(
          new Sample(
              now,
              (t.requests() - prev.requests()) / secs,
              (t.errors() - prev.errors()) / secs,
              (t.generationTokens() - prev.generationTokens()) / secs,
              quantile(0.5, t.ttft(), windowStart.ttft()),
              quantile(0.95, t.ttft(), windowStart.ttft()),
              quantile(0.5, t.itl(), windowStart.itl()),
              quantile(0.95, t.itl(), windowStart.itl()),
              inFlight));
      while (samples.size() > HISTORY) {
        samples.removeFirst();
      }
    }
    updateHitRates();
    json = System.nanoTime() - lastViewedNanos < VIEWER_NANOS ? render(now) : null;
  }

  /** Each engine's prefix-cache hit rate over the last tick, from its scraped counters. */
  private void updateHitRates() {
    List<Backend> all = List.copyOf(backends.all());
    for (Backend b : all) {
      EngineStats s = b.stats();
      double[] prev = lastPrefix.put(b.id(), new double[] {s.prefixQueries(), s.prefixHits()});
      double dq = prev == null ? 0 : s.prefixQueries() - prev[0];
      if (dq > 0) {
        hitRate.put(b.id(), (s.prefixHits() - prev[1]) / dq);
      }
    }
    lastPrefix.keySet().retainAll(all.stream().map(Backend::id).toList());
    hitRate.keySet().retainAll(lastPrefix.keySet());
  }

  /**
   * Prometheus' histogram_quantile over the difference of two cumulative snapshots: linear
   * interpolation inside the bucket the rank falls in; NaN when nothing was observed.
   */
  static double quantile(double q, RouterMetrics.Buckets now, RouterMetrics.Buckets before) {
    long[] counts = now.counts();
    long[] delta = new long[counts.length];
    long total = 0;
    for (int i = 0; i < counts.length; i++) {
      delta[i] = counts[i] - before.counts()[i];
      total += delta[i];
    }
    if (total <= 0) {
      return Double.NaN;
    }
    double rank = q * total;
    long seen = 0;
    double[] upper = now.upperBounds();
    for (int i = 0; i < delta.length; i++) {
      if (seen + delta[i] >= rank && delta[i] > 0) {
        double lo = i == 0 ? 0 : upper[i - 1];
        double hi = Double.isInfinite(upper[i]) ? lo : upper[i];
        return lo + (hi - lo) * (rank - seen) / delta[i];
      }
      seen += delta[i];
    }
    return upper[upper.length - 2];
  }

  private byte[] render(long now) {
    ObjectNode root = JSON.createObjectNode();
    root.put("now", now);
    root.put("interval_ms", intervalMs);
    ArrayNode engines = root.putArray("engines");
    long nanos = System.nanoTime();
    List<Backend> all = List.copyOf(backends.all());
    for (Backend b : all) {
      EngineStats s = b.stats();
      ObjectNode e = engines.addObject();
      e.put("url", b.id());
      e.put("health", b.health(nanos).name().toLowerCase(java.util.Locale.ROOT));
      e.put("routable", b.routable(nanos));
      e.put("draining", b.draining());
      ArrayNode models = e.putArray("models");
      b.models().stream().sorted().forEach(models::add);
      e.put("in_flight", b.inFlight());
      e.put("running", s.running());
      e.put("waiting", s.waiting());
      e.put("kv_usage", s.kvUsage());
      e.put("max_loras", s.maxLoras());
      ArrayNode loras = e.putArray("active_loras");
      b.activeLoras().stream().sorted().forEach(loras::add);
      putNumber(e, "prefix_hit_rate", hitRate(b.id(), s));
      long at = s.scrapedAtNanos();
      putNumber(e, "scrape_age_s", at == 0 ? Double.NaN : (nanos - at) / 1e9);
      e.put("ejections", b.ejections());
    }
    ObjectNode series = root.putObject("series");
    ArrayNode time = series.putArray("t");
    ArrayNode qps = series.putArray("qps");
    ArrayNode eps = series.putArray("errors_per_s");
    ArrayNode tps = series.putArray("tokens_per_s");
    ArrayNode ttft50 = series.putArray("ttft_p50");
    ArrayNode ttft95 = series.putArray("ttft_p95");
    ArrayNode itl50 = series.putArray("itl_p50");
    ArrayNode itl95 = series.putArray("itl_p95");
    ArrayNode inFlight = series.putArray("in_flight");
    for (Sample s : samples) {
      time.add(s.epochMillis() / 1000.0);
      add(qps, s.requestsPerSecond());
      add(eps, s.errorsPerSecond());
      add(tps, s.tokensPerSecond());
      add(ttft50, s.ttftP50());
      add(ttft95, s.ttftP95());
      add(itl50, s.itlP50());
      add(itl95, s.itlP95());
      inFlight.add(s.inFlight());
    }
    root.put("decisions_total", decisions.count());
    ArrayNode recent = root.putArray("decisions");
    for (DecisionLog.Entry d : decisions.recent(DECISIONS_SHOWN)) {
      ObjectNode o = recent.addObject();
      o.put("ts", d.epochMillis());
      o.put("request_id", d.requestId());
      o.put("model", d.model());
      o.put("policy", d.policy());
      o.put("engine", d.engine());
      o.put("reason", d.reason());
      o.put("retry", d.retry());
    }
    try {
      return JSON.writeValueAsBytes(root);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The prefix-cache hit rate the last sample computed (engines' counters are cumulative, so each
   * sample takes the change since the one before, and keeps the rate when no queries came in
   * between); before any sample saw queries, the rate since the engine started.
   */
  private double hitRate(String id, EngineStats s) {
    Double recent = hitRate.get(id);
    if (recent != null) {
      return recent;
    }
    return s.prefixQueries() > 0 ? s.prefixHits() / s.prefixQueries() : Double.NaN;
  }

  private static void add(ArrayNode a, double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      a.addNull();
    } else {
      a.add(v);
    }
  }

  private static void putNumber(ObjectNode o, String name, double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      o.putNull(name);
    } else {
      o.put(name, v);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
