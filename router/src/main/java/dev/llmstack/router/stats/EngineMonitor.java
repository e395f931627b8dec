package dev.llmstack.router.stats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmstack.protocol.metrics.PrometheusText;
import dev.llmstack.protocol.metrics.VllmMetricNames;
import dev.llmstack.router.backend.Backend;
import dev.llmstack.router.backend.EngineStats;
import dev.llmstack.router.proxy.EngineHttpClient;
import dev.llmstack.router.threads.BackgroundThreads;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Watches each engine from the control plane: active /health probes, its model list (/v1/models),
 * and its load from /metrics (vLLM's names, new and old), each at its own interval and with a
 * timeout. Timers, requests and parsing all run on the one event-loop thread of its {@link
 * EngineHttpClient}, never on the proxy's, so many engines cost little and nothing here delays a
 * proxied request.
 */
public final class EngineMonitor implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(EngineMonitor.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  static final String RUNNING = VllmMetricNames.NUM_REQUESTS_RUNNING;
  static final String WAITING = VllmMetricNames.NUM_REQUESTS_WAITING;
  static final String KV_USAGE = VllmMetricNames.KV_CACHE_USAGE;
  static final String KV_USAGE_OLD = VllmMetricNames.GPU_CACHE_USAGE_OLD;
  static final String PREFIX_QUERIES = VllmMetricNames.PREFIX_CACHE_QUERIES;
  static final String PREFIX_HITS = VllmMetricNames.PREFIX_CACHE_HITS;
  static final String PREFIX_QUERIES_OLD = VllmMetricNames.GPU_PREFIX_CACHE_QUERIES_OLD;
  static final String PREFIX_HITS_OLD = VllmMetricNames.GPU_PREFIX_CACHE_HITS_OLD;
  private static final Set<String> WANTED =
      Set.of(
          RUNNING,
          WAITING,
          KV_USAGE,
          KV_USAGE_OLD,
          PREFIX_QUERIES,
          PREFIX_HITS,
          PREFIX_QUERIES_OLD,
          PREFIX_HITS_OLD);

  /** Intervals and timeout in milliseconds. */
  public record Settings(long healthIntervalMs, long scrapeIntervalMs, long timeoutMs) {}

  private final Settings settings;
  private final EngineHttpClient http;
  private final Map<String, ScheduledFuture<?>[]> tasks = new ConcurrentHashMap<>();

  /** Each engine's last /v1/models body, as read. */
  private final Map<String, String> modelsBodies = new ConcurrentHashMap<>();

  public EngineMonitor(Settings settings, BackgroundThreads threads) {
    this.settings = settings;
    this.http = new EngineHttpClient(settings.timeoutMs(), threads);
  }

  /**
   * Starts watching an engine. Its first probe, model fetch and scrape run at once; the periodic
   * ones then start at the engine's own {@link #phase} of each interval.
   */
  public void watch(Backend backend) {
    http.loop().execute(() -> probe(backend));
    http.loop().execute(() -> scrape(backend));
    long health = settings.healthIntervalMs();
    long scrape = settings.scrapeIntervalMs();
    ScheduledFuture<?> probes =
        http.loop()
            .scheduleWithFixedDelay(
                () -> probe(backend),
                health + phase(backend.id(), health),
                health,
                TimeUnit.MILLISECONDS);
    ScheduledFuture<?> scrapes =
        http.loop()
            .scheduleWithFixedDelay(
                () -> scrape(backend),
                scrape + phase(backend.id(), scrape),
                scrape,
                TimeUnit.MILLISECONDS);
    tasks.put(backend.id(), new ScheduledFuture<?>[] {probes, scrapes});
  }

  /**
   * Where in each interval an engine's periodic probes or scrapes run, in [0, intervalMs): spread
   * by a hash of its id, as Prometheus spreads its targets. Engines watched together (all of them,
   * at start) would otherwise be probed and scraped together, one burst of work per interval on a
   * core an event loop shares, and a burst of a millisecond or more holds up every request behind
   * it (docs/benchmarks/router, session 10). Stable, so an engine keeps its rhythm.
   */
  static long phase(String engineId, long intervalMs) {
    if (intervalMs <= 1) {
      return 0;
    }
    long h = engineId.hashCode() * 0x9E3779B97F4A7C15L; // spreads ids that differ in one character
    return Math.floorMod(h >>> 16, intervalMs);
  }

  public void unwatch(Backend backend) {
    ScheduledFuture<?>[] t = tasks.remove(backend.id());
    if (t != null) {
      for (ScheduledFuture<?> f : t) {
        f.cancel(false);
      }
    }
    http.forget(backend.id());
    modelsBodies.remove(backend.id());
  }

  private java.util.concurrent.CompletableFuture<EngineHttpClient.Response> get(
      Backend b, String path) {
    return http.get(b.endpoint(), path, settings.timeoutMs());
  }

  /**
   * Probes /health; a healthy engine also gets its /v1/models read, since its list changes when
   * LoRA adapters are loaded or unloaded at runtime.
   */
  public void probe(Backend b) {
    get(b, "/health")
        .whenComplete(
            (r, err) -> {
              boolean up = err == null && r.status() == 200;
              if (b.probedUp() != up) {
                LOG.info(() -> b.id() + (up ? " is up" : " is down: " + describe(r, err)));
              }
              b.probed(up);
              if (up) {
                fetchModels(b);
              }
            });
  }

  private void fetchModels(Backend b) {
    get(b, "/v1/models")
        .whenComplete(
            (r, err) -> {
              if (err != null || r.status() != 200) {
                return;
              }
              // Mostly the same list every time: parsed again only when it changed. A JSON tree
              // per probe was the largest part of this thread's work, on a core it may share
              // with the proxy's event loop.
              // (A backend object new under a known id, e.g. one removed and added again, has no
              // models yet whatever the body.)
              if (r.body().equals(modelsBodies.put(b.id(), r.body())) && b.modelsKnown()) {
                return;
              }
              try {
                JsonNode data = JSON.readTree(r.body()).path("data");
                Map<String, JsonNode> cards = new LinkedHashMap<>();
                for (JsonNode card : data) {
                  String id = card.path("id").asText(null);
                  if (id != null) {
                    cards.put(id, card);
                  }
                }
                if (!cards.keySet().equals(b.models())) {
                  LOG.info(() -> b.id() + " serves " + cards.keySet());
                }
                b.models(cards);
              } catch (java.io.IOException | RuntimeException e) {
                LOG.warning(() -> b.id() + ": bad /v1/models: " + e);
              }
            });
  }

  private void scrape(Backend b) {
    get(b, "/metrics")
        .whenComplete(
            (r, err) -> {
              if (err != null || r.status() != 200) {
                b.scrapeFailed(); // stats stay as they were; their age tells how stale
                return;
              }
              Map<String, Double> m = PrometheusText.sums(r.body(), WANTED);
              capacity(b, r.body());
              Map<String, String> lora =
                  PrometheusText.newestLabels(r.body(), "vllm:lora_requests_info");
              b.stats(
                  new EngineStats(
                      m.getOrDefault(RUNNING, 0.0),
                      m.getOrDefault(WAITING, 0.0),
                      m.getOrDefault(KV_USAGE, m.getOrDefault(KV_USAGE_OLD, 0.0)),
                      m.getOrDefault(PREFIX_QUERIES, m.getOrDefault(PREFIX_QUERIES_OLD, 0.0)),
                      m.getOrDefault(PREFIX_HITS, m.getOrDefault(PREFIX_HITS_OLD, 0.0)),
                      System.nanoTime(),
                      lora == null ? 0 : maxLoras(lora.get("max_lora")),
                      lora == null ? Set.of() : adapters(lora.get("running_lora_adapters"))));
            });
  }

  private static int maxLoras(String v) {
    try {
      return v == null ? 0 : Math.max(0, Integer.parseInt(v.trim()));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** vLLM joins adapter names with commas; an empty label means none. */
  static Set<String> adapters(String joined) {
    if (joined == null || joined.isBlank()) {
      return Set.of();
    }
    Set<String> out = new java.util.HashSet<>();
    for (String a : joined.split(",")) {
      if (!a.isBlank()) {
        out.add(a.strip());
      }
    }
    return Set.copyOf(out);
  }

  private volatile java.util.function.ObjIntConsumer<String> capacityListener = (e, blocks) -> {};

  /**
   * Told each engine's KV capacity in tokens, read from vLLM's {@code vllm:cache_config_info}
   * ({@code num_gpu_blocks} times {@code block_size}), so the approximate index holds no more than
   * the engine can.
   */
  public void onCapacity(java.util.function.ObjIntConsumer<String> listener) {
    this.capacityListener = listener;
  }

  private void capacity(Backend b, String metrics) {
    String blocks = PrometheusText.label(metrics, "vllm:cache_config_info", "num_gpu_blocks");
    if (blocks == null) {
      return;
    }
    try {
      int n = Integer.parseInt(blocks.trim());
      String size = PrometheusText.label(metrics, "vllm:cache_config_info", "block_size");
      long tokens = (long) n * (size == null ? 16 : Integer.parseInt(size.trim()));
      if (tokens > 0) {
        capacityListener.accept(b.id(), (int) Math.min(Integer.MAX_VALUE, tokens));
      }
    } catch (NumberFormatException e) {
      // "None" before the engine profiled its memory: keep the default
    }
  }

  private static String describe(EngineHttpClient.Response r, Throwable err) {
    return err != null ? err.toString() : "status " + r.status();
  }

  @Override
  public void close() {
    http.close();
  }
}
