package dev.llmstack.router.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.router.Router;
import dev.llmstack.router.RouterSettings;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The kv policy end to end: engines' KV events feed the router's index, requests follow their
 * prefix.
 */
class KvRoutingIT {

  static final String MODEL = "meta-llama/Llama-3.1-8B-Instruct";

  /** A fast engine on a free port publishing KV events with replay. */
  static EngineSettings settings() {
    return EngineSettings.defaults()
        .port(0)
        .timeScale(20)
        .maxModelLen(8192)
        .kvEventsPort(0)
        .kvReplayPort(0);
  }

  static SimulatedEngine engine() throws Exception {
    return SimulatedEngine.start(settings());
  }

  @Test
  void requestsSharingASystemPromptGoWhereItIsCachedAndFreshOnesSpread() throws Exception {
    try (SimulatedEngine a = engine();
        SimulatedEngine b = engine();
        Router r = kvRouter(a, b)) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (r.registry().candidates(MODEL, System.nanoTime()).size() < 2
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      String system = "You are the support assistant of a large bank. ".repeat(60); // ~600 tokens
      Map<String, Integer> perEngine = new HashMap<>();
      int cachedAfterFirst = 0;
      String home = null;
      for (int i = 0; i < 12; i++) {
        Http.Reply reply =
            Http.post(
                r.baseUrl() + "/v1/chat/completions",
                "{\"model\":\""
                    + MODEL
                    + "\",\"messages\":[{\"role\":\"system\",\"content\":\""
                    + system
                    + "\"},{\"role\":\"user\",\"content\":\"Question number "
                    + i
                    + "\"}],\"max_tokens\":4}");
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        String engine = reply.header("x-llmstack-engine");
        perEngine.merge(engine, 1, Integer::sum);
        JsonNode usage = reply.json().get("usage");
        if (i == 0) {
          home = engine;
          Thread.sleep(300); // let the KV events of the first request reach the index
        } else if (usage.at("/prompt_tokens_details/cached_tokens").asInt() > 0) {
          cachedAfterFirst++;
        }
        if (i > 0) {
          assertThat(reply.header("x-llmstack-route")).startsWith("kv;");
        }
      }
      // Every follow-up reused the cached system prompt on the engine holding it.
      assertThat(cachedAfterFirst).isEqualTo(11);
      assertThat(perEngine.get(home)).isEqualTo(12);

      // Fresh prompts with nothing cached anywhere spread over both engines instead of piling on
      // one.
      Map<String, Integer> fresh = new HashMap<>();
      for (int i = 0; i < 6; i++) {
        Http.Reply reply =
            Http.post(
                r.baseUrl() + "/v1/completions",
                "{\"model\":\""
                    + MODEL
                    + "\",\"prompt\":\"Unrelated topic "
                    + i * 7919
                    + " about rivers and "
                    + "mountains\",\"max_tokens\":40,\"ignore_eos\":true,\"stream\":false}");
        fresh.merge(reply.header("x-llmstack-engine"), 1, Integer::sum);
      }
      assertThat(fresh).hasSize(2);
      assertThat(r.kvIndex().size()).isPositive();

      // The closed loop: predictions from the KV index match what the engines reported.
      String metrics = Http.get(r.baseUrl() + "/metrics").body();
      double accuracy = metricValue(metrics, "llmstack_router_cache_prediction_accuracy");
      assertThat(accuracy).isGreaterThanOrEqualTo(0.95);
      assertThat(
              metricValue(
                  metrics, "llmstack_router_actual_cached_tokens_total{engine=\"" + home + "\"}"))
          .isGreaterThan(11 * 500);
      // Every request's queued prefill was released at its first token or end: nothing leaks.
      for (var backend : r.registry().all()) {
        assertThat(backend.pendingPrefillTokens()).as(backend.id()).isZero();
      }
      // Every request was keyed with the model's tokenizer.
      assertThat(metricValue(metrics, "llmstack_router_prompt_keys_total{source=\"tokens\"}"))
          .isGreaterThanOrEqualTo(12);
      assertThat(metricValue(metrics, "llmstack_router_prompt_keys_seconds_count"))
          .isGreaterThanOrEqualTo(12);
    }
  }

  /** A router with the kv policy following both engines' KV events. */
  static Router kvRouter(SimulatedEngine a, SimulatedEngine b) throws Exception {
    return Router.start(
        RouterSettings.defaults()
            .port(0)
            .backends(List.of(a.baseUrl(), b.baseUrl()))
            .policy("kv")
            .healthIntervalMs(200)
            .kvEndpoints(
                Map.of(
                    a.baseUrl(), new String[] {a.kvEventsEndpoint(), a.kvReplayEndpoint()},
                    b.baseUrl(), new String[] {b.kvEventsEndpoint(), b.kvReplayEndpoint()})));
  }

  static SimulatedEngine loraEngine() throws Exception {
    return SimulatedEngine.start(settings().loraModule("sql-lora", "/adapters/sql"));
  }

  /**
   * A LoRA adapter's and a cache salt's blocks are the engine's own kind: the router's keys and the
   * KV events' extra keys agree, so predictions stay exact when the same text arrives for the base
   * model, the adapter and under a salt.
   */
  @Test
  void adaptersAndSaltsOnlyMatchTheirOwnCachedBlocks() throws Exception {
    try (SimulatedEngine a = loraEngine();
        SimulatedEngine b = loraEngine();
        Router r = kvRouter(a, b)) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (r.registry().candidates("sql-lora", System.nanoTime()).size() < 2
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(r.registry().baseModelOf("sql-lora")).isEqualTo(MODEL);
      // The router's /v1/models lists the base model first, then the adapter with its parent.
      JsonNode cards = Http.get(r.baseUrl() + "/v1/models").json().path("data");
      assertThat(cards).hasSize(2);
      assertThat(cards.get(0).path("id").asText()).isEqualTo(MODEL);
      assertThat(cards.get(1).path("id").asText()).isEqualTo("sql-lora");
      assertThat(cards.get(1).path("parent").asText()).isEqualTo(MODEL);
      // The engines' vllm:lora_requests_info tells the router their adapter slots (max_loras 1).
      while (r.registry().all().stream().anyMatch(e -> e.stats().maxLoras() != 1)
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(r.registry().all()).allSatisfy(e -> assertThat(e.stats().maxLoras()).isEqualTo(1));
      // The dashboard's engine table shows the slots (its state is rebuilt once a second).
      JsonNode dashEngines = Http.get(r.baseUrl() + "/dashboard/api/state").json().path("engines");
      long dashDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while ((dashEngines.size() < 2 || dashEngines.get(0).path("max_loras").asInt() != 1)
          && System.nanoTime() < dashDeadline) {
        Thread.sleep(100);
        dashEngines = Http.get(r.baseUrl() + "/dashboard/api/state").json().path("engines");
      }
      assertThat(dashEngines).hasSize(2);
      dashEngines.forEach(
          e -> {
            assertThat(e.path("max_loras").asInt()).isEqualTo(1);
            assertThat(e.path("active_loras").isArray()).isTrue();
          });
      String system = "You translate questions into SQL for the billing database. ".repeat(50);
      record Sent(String engine, int cached, String route) {}
      java.util.function.BiFunction<String, String, Sent> ask =
          (model, salt) -> {
            Http.Reply reply =
                Http.post(
                    r.baseUrl() + "/v1/chat/completions",
                    "{\"model\":\""
                        + model
                        + "\","
                        + (salt == null ? "" : "\"cache_salt\":\"" + salt + "\",")
                        + "\"messages\":[{\"role\":\"system\",\"content\":\""
                        + system
                        + "\"},{\"role\":\"user\",\"content\":\"total per customer\"}],"
                        + "\"max_tokens\":2}");
            assertThat(reply.status()).as(reply.body()).isEqualTo(200);
            try {
              Thread.sleep(300); // the KV events reach the index
            } catch (InterruptedException e) {
              throw new AssertionError(e);
            }
            return new Sent(
                reply.header("x-llmstack-engine"),
                reply.json().at("/usage/prompt_tokens_details/cached_tokens").asInt(),
                reply.header("x-llmstack-route"));
          };
      // The same text three ways. Each first request finds nothing cached, and the router, which
      // sees the earlier ones' blocks in the index, must not predict a hit for it either.
      Sent salted = ask.apply("sql-lora", "tenant-a");
      Sent lora = ask.apply("sql-lora", null);
      Sent base = ask.apply(MODEL, null);
      for (Sent first : List.of(salted, lora, base)) {
        assertThat(first.cached()).isZero();
        assertThat(first.route()).startsWith("kv;miss=");
      }
      // Each kind, asked again, goes home, is predicted to hit, and hits.
      assertThat(List.of(salted, lora, base))
          .allSatisfy(
              first -> {
                String model = first == base ? MODEL : "sql-lora";
                Sent again = ask.apply(model, first == salted ? "tenant-a" : null);
                assertThat(again.engine()).isEqualTo(first.engine());
                assertThat(again.cached()).isGreaterThan(500);
                assertThat(again.route()).startsWith("kv;hit=" + again.cached() + "/");
              });

      // The router predicted every one of these: no hit where the engine found none.
      String metrics = Http.get(r.baseUrl() + "/metrics").body();
      assertThat(
              metricValue(
                  metrics, "llmstack_router_engine_max_loras{engine=\"" + lora.engine() + "\"}"))
          .isEqualTo(1.0);
      assertThat(metricValue(metrics, "llmstack_router_cache_prediction_accuracy"))
          .isGreaterThanOrEqualTo(0.95);
    }
  }

  static double metricValue(String text, String series) {
    for (String line : text.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim());
      }
    }
    throw new AssertionError("no " + series + " in\n" + text);
  }

  @Test
  void prefixPolicyFollowsWhatTheRouterSentWithoutEngineEvents() throws Exception {
    try (SimulatedEngine a =
            SimulatedEngine.start(
                EngineSettings.defaults().port(0).timeScale(20).maxModelLen(8192));
        SimulatedEngine b =
            SimulatedEngine.start(
                EngineSettings.defaults().port(0).timeScale(20).maxModelLen(8192));
        Router r =
            Router.start(
                RouterSettings.defaults()
                    .port(0)
                    .backends(List.of(a.baseUrl(), b.baseUrl()))
                    .policy("prefix")
                    .healthIntervalMs(200))) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (r.registry().candidates(MODEL, System.nanoTime()).size() < 2
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      // Each engine's capacity comes from its cache_config_info (num_gpu_blocks x block_size).
      while ((r.approximateIndex().capacity(a.baseUrl()) != a.totalBlocks()
              || r.approximateIndex().capacity(b.baseUrl()) != b.totalBlocks())
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(r.approximateIndex().capacity(a.baseUrl())).isEqualTo(a.totalBlocks());
      assertThat(r.approximateIndex().capacity(b.baseUrl())).isEqualTo(b.totalBlocks());
      // Two conversations with different long system prompts, interleaved.
      String[] systems = {
        "You answer questions about astronomy. ".repeat(60),
        "You answer questions about cooking. ".repeat(60)
      };
      Map<Integer, String> homeOf = new HashMap<>();
      int cached = 0;
      for (int i = 0; i < 10; i++) {
        int conv = i % 2;
        Http.Reply reply =
            Http.post(
                r.baseUrl() + "/v1/chat/completions",
                "{\"model\":\""
                    + MODEL
                    + "\",\"messages\":[{\"role\":\"system\",\"content\":\""
                    + systems[conv]
                    + "\"},{\"role\":\"user\",\"content\":\"Question "
                    + i
                    + "\"}],\"max_tokens\":3}");
        assertThat(reply.status()).isEqualTo(200);
        String engine = reply.header("x-llmstack-engine");
        String before = homeOf.putIfAbsent(conv, engine);
        if (before != null) {
          assertThat(engine)
              .as("conversation " + conv + " stays where its prefix is")
              .isEqualTo(before);
          cached +=
              reply.json().at("/usage/prompt_tokens_details/cached_tokens").asInt() > 0 ? 1 : 0;
        }
      }
      assertThat(cached).isEqualTo(8);
      assertThat(homeOf.get(0)).as("the two conversations spread").isNotEqualTo(homeOf.get(1));
    }
  }
}
