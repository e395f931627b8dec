package dev.llmstack.router.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.router.Router;
import dev.llmstack.router.RouterSettings;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The router in front of real simulated engines, over HTTP on loopback. */
class RouterIT {

  static final String MODEL = "meta-llama/Llama-3.1-8B-Instruct";
  static SimulatedEngine a;
  static SimulatedEngine b;

  @BeforeAll
  static void engines() throws Exception {
    a = SimulatedEngine.start(engineSettings());
    b = SimulatedEngine.start(engineSettings());
  }

  @AfterAll
  static void stop() {
    a.close();
    b.close();
  }

  static EngineSettings engineSettings() {
    return EngineSettings.defaults().port(0).timeScale(20).maxModelLen(4096);
  }

  static RouterSettings routerSettings(List<String> backends) {
    return RouterSettings.defaults()
        .port(0)
        .backends(backends)
        .healthIntervalMs(200)
        .scrapeIntervalMs(200)
        .ioThreads(1)
        .drainSeconds(2);
  }

  static void awaitEngines(Router r, int n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      long ready =
          r.registry().all().stream()
              .filter(x -> x.modelsKnown() && x.routable(System.nanoTime()))
              .count();
      if (ready >= n) {
        return;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("engines not ready");
  }

  static String chat(String content, int maxTokens, boolean stream) {
    return "{\"model\":\""
        + MODEL
        + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
        + content
        + "\"}],\"max_tokens\":"
        + maxTokens
        + ",\"ignore_eos\":true,\"seed\":11"
        + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "")
        + "}";
  }

  /** A chunk without the fields that differ between any two responses (id, created). */
  static JsonNode stable(String event) throws Exception {
    if (event.equals("[DONE]")) {
      return Http.JSON.getNodeFactory().textNode(event);
    }
    ObjectNode n = (ObjectNode) Http.JSON.readTree(event);
    n.remove("id");
    n.remove("created");
    if (n.has("usage")) {
      ((ObjectNode) n.get("usage")).remove("prompt_tokens_details"); // the cache differs per engine
    }
    return n;
  }

  @Test
  void streamThroughTheRouterEqualsTheDirectStream() throws Exception {
    try (Router r = Router.start(routerSettings(List.of(a.baseUrl())))) {
      awaitEngines(r, 1);
      List<String> direct =
          Http.events(a.baseUrl() + "/v1/chat/completions", chat("Tell me a story", 24, true));
      List<String> routed =
          Http.events(r.baseUrl() + "/v1/chat/completions", chat("Tell me a story", 24, true));
      assertThat(routed).hasSameSizeAs(direct);
      for (int i = 0; i < direct.size(); i++) {
        assertThat(stable(routed.get(i))).isEqualTo(stable(direct.get(i)));
      }
      Http.Reply full = Http.post(r.baseUrl() + "/v1/chat/completions", chat("Hi", 5, false));
      assertThat(full.status()).isEqualTo(200);
      assertThat(full.header("x-llmstack-engine")).isEqualTo(a.baseUrl());
      assertThat(full.header("x-llmstack-route")).startsWith("least-outstanding;");
      assertThat(full.header("x-request-id")).isNotBlank();
      assertThat(full.json().at("/usage/completion_tokens").asInt()).isEqualTo(5);
    }
  }

  @Test
  void modelsAreTheUnionAndUnknownOnesAre404() throws Exception {
    try (Router r = Router.start(routerSettings(List.of(a.baseUrl(), b.baseUrl())))) {
      awaitEngines(r, 2);
      JsonNode models = Http.get(r.baseUrl() + "/v1/models").json();
      assertThat(models.get("object").asText()).isEqualTo("list");
      assertThat(models.get("data")).hasSize(1); // one entry per model, not per engine
      assertThat(models.at("/data/0/id").asText()).isEqualTo(MODEL);
      Http.Reply unknown =
          Http.post(
              r.baseUrl() + "/v1/chat/completions", chat("x", 1, false).replace(MODEL, "gpt-9"));
      assertThat(unknown.status()).isEqualTo(404);
      assertThat(unknown.json().at("/error/message").asText())
          .isEqualTo("The model `gpt-9` does not exist.");
      assertThat(unknown.json().at("/error/code").asInt()).isEqualTo(404);
    }
  }

  @Test
  void badRequestsGetOpenAiErrors() throws Exception {
    try (Router r = Router.start(routerSettings(List.of(a.baseUrl())).maxBodyBytes(4096))) {
      awaitEngines(r, 1);
      String url = r.baseUrl() + "/v1/chat/completions";
      assertError(Http.post(url, "{not json"), 400);
      assertError(Http.post(url, "[]"), 400);
      assertError(Http.post(url, "{\"model\":7}"), 400);
      assertError(
          Http.post(
              url,
              "{\"model\":\""
                  + MODEL
                  + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                  + "x".repeat(8000)
                  + "\"}]}"),
          413);
      assertError(Http.get(r.baseUrl() + "/v2/nothing"), 404);
      assertError(Http.get(url), 405);
      // The engine's own 4xx passes through unchanged.
      Http.Reply engine400 = Http.post(url, "{\"model\":\"" + MODEL + "\",\"messages\":\"hi\"}");
      assertError(engine400, 400);
      // A missing model is fine while exactly one model is served (vLLM does the same).
      assertThat(
              Http.post(
                      url,
                      "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}")
                  .status())
          .isEqualTo(200);
    }
  }

  static void assertError(Http.Reply r, int status) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    JsonNode e = r.json().get("error");
    assertThat(e).as(r.body()).isNotNull();
    assertThat(e.get("message").asText()).isNotBlank();
    assertThat(e.get("type").asText()).isNotBlank();
    assertThat(e.get("code").asInt()).isEqualTo(status);
  }

  @Test
  void anEngineThatIsDownIsSkipped() throws Exception {
    int dead;
    try (ServerSocket s = new ServerSocket(0)) {
      dead = s.getLocalPort();
    }
    String deadUrl = "http://127.0.0.1:" + dead;
    try (Router r =
        Router.start(routerSettings(List.of(a.baseUrl(), deadUrl)).policy("round-robin"))) {
      awaitEngines(r, 1);
      for (int i = 0; i < 10; i++) {
        Http.Reply reply =
            Http.post(r.baseUrl() + "/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":2}");
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        assertThat(reply.header("x-llmstack-engine")).isEqualTo(a.baseUrl());
      }
      JsonNode engines = Http.get(r.baseUrl() + "/admin/engines").json().get("engines");
      for (JsonNode e : engines) {
        if (e.get("url").asText().equals(deadUrl)) {
          assertThat(e.get("routable").asBoolean()).isFalse();
        }
      }
    }
  }

  @Test
  void failingEngineIsEjectedRetriedAroundAndComesBack() throws Exception {
    try (SimulatedEngine flaky = SimulatedEngine.start(engineSettings());
        Router r =
            Router.start(
                routerSettings(List.of(a.baseUrl(), flaky.baseUrl())).policy("round-robin"))) {
      awaitEngines(r, 2);
      Http.post(flaky.baseUrl() + "/admin/faults", "{\"error_rate\":1.0}");
      for (int i = 0; i < 12; i++) {
        Http.Reply reply =
            Http.post(r.baseUrl() + "/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":2}");
        assertThat(reply.status())
            .as("5xx before the first byte is retried elsewhere")
            .isEqualTo(200);
        assertThat(reply.header("x-llmstack-engine")).isEqualTo(a.baseUrl());
      }
      assertThat(engineState(r, flaky.baseUrl()).get("health").asText()).isEqualTo("ejected");
      Http.delete(flaky.baseUrl() + "/admin/faults");
      // After the backoff the engine is on probation; one good request makes it healthy again.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      Set<String> seen = new HashSet<>();
      while (System.nanoTime() < deadline && !seen.contains(flaky.baseUrl())) {
        seen.add(
            Http.post(r.baseUrl() + "/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":2}")
                .header("x-llmstack-engine"));
        Thread.sleep(100);
      }
      assertThat(seen).contains(flaky.baseUrl());
      assertThat(engineState(r, flaky.baseUrl()).get("health").asText()).isEqualTo("healthy");
    }
  }

  static JsonNode engineState(Router r, String url) {
    for (JsonNode e : Http.get(r.baseUrl() + "/admin/engines").json().get("engines")) {
      if (e.get("url").asText().equals(url)) {
        return e;
      }
    }
    throw new AssertionError("no engine " + url);
  }

  @Test
  void clientDisconnectCancelsTheUpstreamRequest() throws Exception {
    try (SimulatedEngine e =
            SimulatedEngine.start(
                EngineSettings.defaults().port(0).timeScale(1).maxModelLen(8192));
        Router r = Router.start(routerSettings(List.of(e.baseUrl())))) {
      awaitEngines(r, 1);
      HttpResponse<InputStream> resp =
          Http.open(
              r.baseUrl() + "/v1/completions",
              "{\"prompt\":\"go\",\"max_tokens\":5000,\"ignore_eos\":true,\"stream\":true}");
      assertThat(resp.statusCode()).isEqualTo(200);
      resp.body().readNBytes(300);
      assertThat(e.runningRequests()).isEqualTo(1);
      resp.body().close();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (e.runningRequests() > 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(e.runningRequests()).isZero();
      assertThat(e.freeBlocks()).isEqualTo(e.totalBlocks());
    }
  }

  @Test
  void drainedEngineTakesNoNewRequestsButFinishesItsStreams() throws Exception {
    try (Router r =
        Router.start(routerSettings(List.of(a.baseUrl(), b.baseUrl())).policy("round-robin"))) {
      awaitEngines(r, 2);
      Http.Reply drained =
          Http.post(r.baseUrl() + "/admin/engines/drain", "{\"url\":\"" + b.baseUrl() + "\"}");
      assertThat(drained.status()).isEqualTo(200);
      assertThat(drained.json().get("draining").asBoolean()).isTrue();
      for (int i = 0; i < 6; i++) {
        assertThat(
                Http.post(r.baseUrl() + "/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":2}")
                    .header("x-llmstack-engine"))
            .isEqualTo(a.baseUrl());
      }
      Http.post(
          r.baseUrl() + "/admin/engines/drain",
          "{\"url\":\"" + b.baseUrl() + "\",\"drain\":false}");
    }
  }

  @Test
  void configFileDiscoveryAddsAndRemovesEnginesWithoutFailedRequests(@TempDir Path dir)
      throws Exception {
    Path config = dir.resolve("backends.yaml");
    Files.writeString(config, "backends:\n  - " + a.baseUrl() + "\n");
    try (Router r =
        Router.start(
            routerSettings(List.of()).configFile(config).configPollMs(100).policy("round-robin"))) {
      awaitEngines(r, 1);
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger failures = new AtomicInteger();
      List<String> engines = java.util.Collections.synchronizedList(new ArrayList<>());
      ExecutorService pool = Executors.newFixedThreadPool(2);
      List<Future<?>> load = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        load.add(
            pool.submit(
                () -> {
                  while (!stop.get()) {
                    Http.Reply reply =
                        Http.post(
                            r.baseUrl() + "/v1/completions",
                            "{\"prompt\":\"hi\",\"max_tokens\":3}");
                    if (reply.status() != 200) {
                      failures.incrementAndGet();
                    }
                    engines.add(reply.header("x-llmstack-engine"));
                  }
                }));
      }
      Thread.sleep(300);
      Files.writeString(
          config, "backends:\n  - " + a.baseUrl() + "\n  - url: " + b.baseUrl() + "\n");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!engines.contains(b.baseUrl()) && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      // A copy: iterating the synchronized list while the load threads add to it throws.
      assertThat(List.copyOf(engines)).contains(b.baseUrl());
      Files.writeString(config, "backends:\n  - " + b.baseUrl() + "\n");
      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (r.registry().get(a.baseUrl()) != null && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      int mark = engines.size();
      Thread.sleep(500);
      stop.set(true);
      for (Future<?> f : load) {
        f.get(30, TimeUnit.SECONDS);
      }
      pool.shutdown();
      assertThat(r.registry().get(a.baseUrl())).isNull();
      assertThat(engines.subList(mark, engines.size())).isNotEmpty().allMatch(b.baseUrl()::equals);
      assertThat(failures.get()).isZero();
    }
  }

  @Test
  void sessionPolicyKeepsAUserOnOneEngine() throws Exception {
    try (Router r =
        Router.start(routerSettings(List.of(a.baseUrl(), b.baseUrl())).policy("session"))) {
      awaitEngines(r, 2);
      Set<String> forAlice = new HashSet<>();
      for (int i = 0; i < 5; i++) {
        forAlice.add(
            Http.post(
                    r.baseUrl() + "/v1/completions",
                    "{\"prompt\":\"hi\",\"max_tokens\":2}",
                    Map.of("x-session-id", "alice"))
                .header("x-llmstack-engine"));
      }
      assertThat(forAlice).hasSize(1);
      // The debugging override picks an engine outright.
      Http.Reply forced =
          Http.post(
              r.baseUrl() + "/v1/completions",
              "{\"prompt\":\"hi\",\"max_tokens\":2}",
              Map.of("x-llmstack-engine", b.baseUrl()));
      assertThat(forced.header("x-llmstack-engine")).isEqualTo(b.baseUrl());
      Http.Reply badPolicy =
          Http.post(
              r.baseUrl() + "/v1/completions",
              "{\"prompt\":\"hi\"}",
              Map.of("x-llmstack-policy", "magic"));
      assertError(badPolicy, 400);
    }
  }

  @Test
  void healthAndMetrics() throws Exception {
    try (Router r = Router.start(routerSettings(List.of(a.baseUrl())))) {
      awaitEngines(r, 1);
      Http.post(r.baseUrl() + "/v1/completions", "{\"prompt\":\"hi\",\"max_tokens\":2}");
      assertThat(Http.get(r.baseUrl() + "/health").status()).isEqualTo(200);
      String metrics = Http.get(r.baseUrl() + "/metrics").body();
      assertThat(metrics)
          .contains(
              "llmstack_router_requests_total{code=\"200\",engine=\""
                  + a.baseUrl()
                  + "\",model=\""
                  + MODEL
                  + "\"}")
          .contains("llmstack_router_engine_routable{engine=\"" + a.baseUrl() + "\"} 1");
    }
  }

  @Test
  void accessLogHasOneJsonLinePerRequestWithUsage(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("access.jsonl");
    try (Router r = Router.start(routerSettings(List.of(a.baseUrl())).accessLog(log.toString()))) {
      awaitEngines(r, 1);
      Http.post(
          r.baseUrl() + "/v1/chat/completions",
          chat("hello", 7, false),
          Map.of("x-request-id", "trace-me-1"));
      Http.events(r.baseUrl() + "/v1/chat/completions", chat("hello", 5, true));
    }
    List<String> lines = Files.readAllLines(log);
    assertThat(lines).hasSize(2);
    JsonNode first = Http.JSON.readTree(lines.get(0));
    assertThat(first.get("request_id").asText()).isEqualTo("trace-me-1");
    assertThat(first.get("engine").asText()).isEqualTo(a.baseUrl());
    assertThat(first.get("model").asText()).isEqualTo(MODEL);
    assertThat(first.get("policy").asText()).isEqualTo("least-outstanding");
    assertThat(first.get("status").asInt()).isEqualTo(200);
    assertThat(first.get("completion_tokens").asLong()).isEqualTo(7);
    assertThat(first.get("prompt_tokens").asLong()).isPositive();
    assertThat(first.get("ttfb_ms").asDouble()).isPositive();
    assertThat(first.get("ttft_ms").isNull()).isTrue(); // not streamed: no first token to time
    JsonNode second = Http.JSON.readTree(lines.get(1));
    assertThat(second.get("stream").asBoolean()).isTrue();
    assertThat(second.get("completion_tokens").asLong()).isEqualTo(5);
    assertThat(second.get("ttft_ms").asDouble())
        .isPositive()
        .isLessThanOrEqualTo(second.get("duration_ms").asDouble());
  }
}
