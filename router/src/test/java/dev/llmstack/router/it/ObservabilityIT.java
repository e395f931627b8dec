package dev.llmstack.router.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.engine.testing.PrometheusParser;
import dev.llmstack.router.Router;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The router's observability against real simulated engines on loopback: its /metrics read by the
 * Prometheus reference parsers and scraped by a real Prometheus server, the Grafana dashboard's
 * queries checked against what is exported, and the /dashboard endpoints.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ObservabilityIT {

  static final String MODEL = RouterIT.MODEL;
  static final int STREAMS = 6;
  static final int MAX_TOKENS = 12;
  static SimulatedEngine a;
  static SimulatedEngine b;
  static Router router;

  @BeforeAll
  static void start() throws Exception {
    a = SimulatedEngine.start(RouterIT.engineSettings());
    b = SimulatedEngine.start(RouterIT.engineSettings());
    router = Router.start(RouterIT.routerSettings(List.of(a.baseUrl(), b.baseUrl())));
    RouterIT.awaitEngines(router, 2);
    for (int i = 0; i < STREAMS; i++) {
      Http.events(
          router.baseUrl() + "/v1/chat/completions",
          RouterIT.chat("Observe me " + i, MAX_TOKENS, true));
    }
    Http.post(router.baseUrl() + "/v1/chat/completions", RouterIT.chat("plain", 3, false));
    // A cache-aware decision (predicted vs actual cached tokens), a client that walks away
    // mid-stream (a failure by kind) and a request the router rejects itself.
    Http.post(
        router.baseUrl() + "/v1/chat/completions",
        RouterIT.chat("plain", 3, false),
        Map.of("x-llmstack-policy", "prefix"));
    try (var in =
        Http.open(router.baseUrl() + "/v1/chat/completions", RouterIT.chat("leave", 2000, true))
            .body()) {
      in.readNBytes(64);
    }
    Http.post(
        router.baseUrl() + "/v1/chat/completions",
        RouterIT.chat("x", 1, false).replace(MODEL, "no-such-model"));
    awaitFinished(STREAMS + 3); // the streams, two plain requests, the one the client left
  }

  /** Waits until the router counted that many finished requests (the last ends asynchronously). */
  static void awaitFinished(int requests) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      double n = 0;
      for (String line : Http.get(router.baseUrl() + "/metrics").body().split("\n")) {
        if (line.startsWith("llmstack_router_requests_total{")) {
          n += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      if (n >= requests) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(n + " requests finished, expected " + requests);
      }
      Thread.sleep(50);
    }
  }

  @AfterAll
  static void stop() {
    if (router != null) {
      router.close();
    }
    a.close();
    b.close();
  }

  static Set<String> engines() {
    return Set.of(a.baseUrl(), b.baseUrl());
  }

  @Test
  void metricsParseWithTheExpectedSeriesAndLabels() throws Exception {
    String text = Http.get(router.baseUrl() + "/metrics").body();
    assertThat(PrometheusParser.promtoolProblems(text)).isEmpty();
    Map<String, PrometheusParser.Family> f = PrometheusParser.parse(text);

    PrometheusParser.Family ttft = f.get("llmstack_router_time_to_first_token_seconds");
    assertThat(ttft.type()).isEqualTo("histogram");
    double ttftCount = 0;
    Set<String> ttftEngines = new TreeSet<>();
    for (PrometheusParser.Sample s : ttft.samples()) {
      assertThat(s.labels()).containsKeys("engine", "model");
      assertThat(s.labels().get("model")).isEqualTo(MODEL);
      if (s.name().endsWith("_count")) {
        ttftCount += s.value();
        ttftEngines.add(s.labels().get("engine"));
      }
    }
    // One per stream (the one the client left too); the non-streamed requests have none.
    assertThat(ttftCount).isEqualTo(STREAMS + 1);
    assertThat(engines()).containsAll(ttftEngines);

    // Inter-token gaps: at least one per stream (12 tokens arrive in several engine steps).
    assertThat(total(f, "llmstack_router_inter_token_latency_seconds", "_count"))
        .isGreaterThanOrEqualTo(STREAMS);
    assertThat(f.get("llmstack_router_inter_token_latency_seconds").type()).isEqualTo("histogram");
    // Finished: the streams, two plain requests and the one the client left.
    assertThat(total(f, "llmstack_router_request_duration_seconds", "_count"))
        .isEqualTo(STREAMS + 3);
    assertThat(total(f, "llmstack_router_generation_tokens", "_total"))
        .isEqualTo(STREAMS * MAX_TOKENS + 3 + 3);
    assertThat(total(f, "llmstack_router_prompt_tokens", "_total")).isGreaterThan(STREAMS * 5);
    assertThat(total(f, "llmstack_router_requests", "_total")).isEqualTo(STREAMS + 3);
    assertThat(f.get("llmstack_router_engine_failures").samples())
        .filteredOn(s -> s.name().endsWith("_total"))
        .singleElement()
        .satisfies(s -> assertThat(s.labels().get("kind")).isEqualTo("client-disconnect"));
    assertThat(f.get("llmstack_router_rejected_requests").samples())
        .filteredOn(s -> s.name().endsWith("_total"))
        .singleElement()
        .satisfies(s -> assertThat(s.labels().get("code")).isEqualTo("404"));

    PrometheusParser.Family decisions = f.get("llmstack_router_routing_decisions");
    assertThat(decisions.type()).isEqualTo("counter");
    assertThat(decisions.samples())
        .filteredOn(s -> s.name().endsWith("_total"))
        .allSatisfy(
            s -> {
              assertThat(s.labels().get("policy")).isIn("least-outstanding", "prefix");
              assertThat(s.labels().get("reason")).matches("[a-z-]+");
              assertThat(engines()).contains(s.labels().get("engine"));
            });

    // Per-engine scrape health and staleness, engine stats and index sizes: one series per engine.
    for (String gauge :
        List.of(
            "llmstack_router_engine_in_flight",
            "llmstack_router_engine_up",
            "llmstack_router_engine_scrape_age_seconds",
            "llmstack_router_engine_requests_running",
            "llmstack_router_engine_kv_cache_usage_ratio",
            "llmstack_router_engine_max_loras",
            "llmstack_router_engine_active_loras",
            "llmstack_router_kv_index_blocks",
            "llmstack_router_prefix_index_blocks")) {
      PrometheusParser.Family g = f.get(gauge);
      assertThat(g).as(gauge).isNotNull();
      assertThat(g.type()).isEqualTo("gauge");
      assertThat(g.samples())
          .extracting(s -> s.labels().get("engine"))
          .containsExactlyInAnyOrderElementsOf(engines());
    }
    assertThat(f.get("llmstack_router_engine_scrape_age_seconds").samples())
        .allSatisfy(s -> assertThat(s.value()).isBetween(0.0, 5.0));
    assertThat(f.get("llmstack_router_engine_up").samples())
        .allSatisfy(s -> assertThat(s.value()).isEqualTo(1.0));
    PrometheusParser.Family scrapes = f.get("llmstack_router_engine_scrapes");
    assertThat(scrapes.type()).isEqualTo("counter");
    assertThat(scrapes.samples())
        .filteredOn(s -> s.labels().get("result").equals("ok"))
        .hasSize(2)
        .allSatisfy(s -> assertThat(s.value()).isPositive());
  }

  private static double total(
      Map<String, PrometheusParser.Family> f, String family, String suffix) {
    PrometheusParser.Family fam = f.get(family);
    assertThat(fam).as(family).isNotNull();
    return fam.samples().stream()
        .filter(s -> s.name().endsWith(suffix))
        .mapToDouble(PrometheusParser.Sample::value)
        .sum();
  }

  @Test
  void aRealPrometheusScrapesTheRouterAndAnswersPromQl(@TempDir Path dir) throws Exception {
    String prometheus = PromText.need("/usr/bin/prometheus", "prometheus");
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Path config = dir.resolve("prometheus.yml");
    Files.writeString(
        config,
        """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: llmstack-router
            static_configs:
              - targets: ['127.0.0.1:%d']
          - job_name: vllm
            static_configs:
              - targets: ['127.0.0.1:%d', '127.0.0.1:%d']
        """
            .formatted(router.port(), port(a), port(b)));
    Process p =
        new ProcessBuilder(
                prometheus,
                "--config.file=" + config,
                "--storage.tsdb.path=" + dir.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port,
                "--log.level=warn")
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("prometheus.log").toFile())
            .start();
    try {
      String api = "http://127.0.0.1:" + port + "/api/v1/query?query=";
      String query = "llmstack_router_time_to_first_token_seconds_count";
      JsonNode result = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline && p.isAlive()) {
        try {
          JsonNode r = Http.get(api + URLEncoder.encode(query, StandardCharsets.UTF_8)).json();
          if (r.path("status").asText().equals("success") && r.at("/data/result").size() > 0) {
            result = r.at("/data/result");
            break;
          }
        } catch (RuntimeException notUpYet) {
          // the server is still starting
        }
        Thread.sleep(250);
      }
      assertThat(result)
          .as("Prometheus answered; its log: %s", Files.readString(dir.resolve("prometheus.log")))
          .isNotNull();
      double sum = 0;
      for (JsonNode series : result) {
        assertThat(series.at("/metric/job").asText()).isEqualTo("llmstack-router");
        assertThat(series.at("/metric/model").asText()).isEqualTo(MODEL);
        assertThat(engines()).contains(series.at("/metric/engine").asText());
        sum += series.at("/value/1").asDouble();
      }
      assertThat(sum).isGreaterThanOrEqualTo(STREAMS);
      // A histogram_quantile over the router's buckets works as the Grafana panels use it.
      JsonNode q =
          Http.get(
                  api
                      + URLEncoder.encode(
                          "histogram_quantile(0.5, sum by (le) (llmstack_router_time_to_first_token_seconds_bucket))",
                          StandardCharsets.UTF_8))
              .json();
      assertThat(q.at("/data/result/0/value/1").asDouble()).isPositive();

      // Every query of the Grafana dashboard is valid PromQL for this Prometheus and finds data
      // (rates need two scrapes, so wait for them), but the 5xx panel: no request failed.
      List<String> exprs = new ArrayList<>();
      collectExprs(grafana(), exprs);
      Set<String> empty = new TreeSet<>();
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      do {
        empty.clear();
        for (String expr : exprs) {
          JsonNode r =
              Http.get(api + URLEncoder.encode(grafanaToPromQl(expr), StandardCharsets.UTF_8))
                  .json();
          assertThat(r.path("status").asText()).as("%s: %s", expr, r).isEqualTo("success");
          if (r.at("/data/result").isEmpty() && !expr.contains("code=~\"5..\"")) {
            empty.add(expr);
          }
        }
      } while (!empty.isEmpty() && System.nanoTime() < until && sleep(500));
      assertThat(empty).as("Grafana queries without data").isEmpty();
    } finally {
      p.destroy();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
  }

  static int port(SimulatedEngine e) {
    return java.net.URI.create(e.baseUrl()).getPort();
  }

  static boolean sleep(long ms) throws InterruptedException {
    Thread.sleep(ms);
    return true;
  }

  static JsonNode grafana() throws java.io.IOException {
    return Http.JSON.readTree(Path.of("..", "deploy", "grafana", "llmstack.json").toFile());
  }

  /** What Grafana sends for an expression: its variables replaced (all engines and models). */
  static String grafanaToPromQl(String expr) {
    return expr.replace("$__rate_interval", "1m").replace("$engine", ".*").replace("$model", ".*");
  }

  @Test
  void everyGrafanaQueryNamesAnExportedMetric() throws Exception {
    JsonNode dashboard = grafana();
    Set<String> exported = new TreeSet<>();
    exported.addAll(PromText.sampleNames(Http.get(router.baseUrl() + "/metrics").body()));
    exported.addAll(PromText.sampleNames(Http.get(a.baseUrl() + "/metrics").body()));
    List<String> exprs = new ArrayList<>();
    collectExprs(dashboard, exprs);
    assertThat(exprs).hasSizeGreaterThan(10);
    Set<String> routerUsed = new TreeSet<>();
    Set<String> engineUsed = new TreeSet<>();
    for (String expr : exprs) {
      Set<String> names = PromQlNames.of(expr);
      assertThat(names).as("metrics in %s", expr).isNotEmpty();
      for (String n : names) {
        assertThat(exported).as("%s (in %s) is exported", n, expr).contains(n);
        (n.startsWith("vllm:") ? engineUsed : routerUsed).add(n);
      }
    }
    // Both sides have panels.
    assertThat(routerUsed).isNotEmpty();
    assertThat(engineUsed).isNotEmpty();
    assertThat(dashboard.path("uid").asText()).isNotBlank();
    assertThat(dashboard.path("title").asText()).isNotBlank();
    // Importable as is: panels of known types with unique ids, each query against the dashboard's
    // own datasource variable rather than a datasource of the machine it was made on.
    Set<Integer> ids = new TreeSet<>();
    for (JsonNode panel : dashboard.get("panels")) {
      assertThat(ids.add(panel.get("id").asInt())).as("unique id %s", panel.get("id")).isTrue();
      assertThat(panel.get("type").asText()).isIn("row", "timeseries", "table");
      assertThat(panel.has("gridPos")).isTrue();
      for (JsonNode t : panel.path("targets")) {
        assertThat(t.at("/datasource/uid").asText()).isEqualTo("${datasource}");
      }
    }
    assertThat(dashboard.at("/templating/list/0/type").asText()).isEqualTo("datasource");
    assertThat(dashboard.at("/templating/list/0/query").asText()).isEqualTo("prometheus");
  }

  private static void collectExprs(JsonNode n, List<String> out) {
    if (n.isObject()) {
      n.properties()
          .forEach(
              e -> {
                if (e.getKey().equals("expr") && e.getValue().isTextual()) {
                  out.add(e.getValue().asText());
                } else {
                  collectExprs(e.getValue(), out);
                }
              });
    } else if (n.isArray()) {
      n.forEach(c -> collectExprs(c, out));
    }
  }

  @Test
  void dashboardServesItsPageTheChartLibraryAndTheState() throws Exception {
    Http.Reply page = Http.get(router.baseUrl() + "/dashboard");
    assertThat(page.status()).isEqualTo(200);
    assertThat(page.header("content-type")).startsWith("text/html");
    assertThat(page.header("cache-control")).isEqualTo("no-cache");
    assertThat(page.body()).contains("/dashboard/vendor/uplot/uPlot.iife.min.js");

    Http.Reply lib = Http.get(router.baseUrl() + "/dashboard/vendor/uplot/uPlot.iife.min.js");
    assertThat(lib.status()).isEqualTo(200);
    assertThat(lib.header("content-type")).startsWith("text/javascript");
    assertThat(lib.header("cache-control")).contains("max-age");
    assertThat(lib.body()).contains("uPlot");
    assertThat(
            Http.get(router.baseUrl() + "/dashboard/vendor/uplot/uPlot.min.css")
                .header("content-type"))
        .startsWith("text/css");
    assertThat(Http.get(router.baseUrl() + "/dashboard/app.js").status()).isEqualTo(200);
    assertThat(Http.get(router.baseUrl() + "/dashboard/nope.js").status()).isEqualTo(404);
    assertThat(Http.get(router.baseUrl() + "/dashboard/..%2F..%2Fpom.xml").status()).isEqualTo(404);
    assertThat(Http.get(router.baseUrl() + "/dashboard/vendor/uplot/../../index.html").status())
        .isEqualTo(404);

    // The sampler runs once a second: wait for a sample that saw this test class's traffic.
    JsonNode state = null;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      state = Http.get(router.baseUrl() + "/dashboard/api/state").json();
      if (state.at("/series/t").size() >= 2) {
        break;
      }
      Thread.sleep(200);
    }
    assertThat(state.get("engines"))
        .extracting(e -> e.get("url").asText())
        .containsExactlyInAnyOrderElementsOf(engines());
    for (JsonNode e : state.get("engines")) {
      assertThat(e.get("health").asText()).isEqualTo("healthy");
      assertThat(e.get("models").get(0).asText()).isEqualTo(MODEL);
      assertThat(e.has("kv_usage") && e.has("running") && e.has("waiting")).isTrue();
    }
    assertThat(state.get("decisions_total").asLong()).isEqualTo(STREAMS + 3);
    JsonNode d = state.at("/decisions/0"); // newest first: the stream the client left
    assertThat(d.get("policy").asText()).isEqualTo("least-outstanding");
    assertThat(state.at("/decisions/1/policy").asText()).isEqualTo("prefix");
    assertThat(d.get("reason").asText()).isNotBlank();
    assertThat(engines()).contains(d.get("engine").asText());
    assertThat(d.get("request_id").asText()).isNotBlank();
    assertThat(state.at("/series/t").size()).isEqualTo(state.at("/series/ttft_p50").size());
  }
}
