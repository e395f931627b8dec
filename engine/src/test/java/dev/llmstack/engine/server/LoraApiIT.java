package dev.llmstack.engine.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.engine.testing.PrometheusParser;
import dev.llmstack.engine.testing.TestHttp;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** LoRA adapters as vLLM serves them: model cards, routing by model name, cache separation. */
class LoraApiIT {

  private static final String BASE = "meta-llama/Llama-3.1-8B-Instruct";

  private static EngineSettings fast() {
    return EngineSettings.defaults().port(0).timeScale(20).maxModelLen(2048);
  }

  private static String completion(String model, int from) {
    StringBuilder ids = new StringBuilder("[");
    for (int i = 0; i < 64; i++) {
      ids.append(i == 0 ? "" : ",").append(from + i);
    }
    return "{\"model\":\"" + model + "\",\"prompt\":" + ids + "],\"max_tokens\":2}";
  }

  private static int cached(TestHttp.Reply r) {
    return r.json().path("usage").path("prompt_tokens_details").path("cached_tokens").asInt(-1);
  }

  @Test
  void servesAdaptersWithTheirOwnCardsAndCaches() throws Exception {
    try (SimulatedEngine engine =
        SimulatedEngine.start(fast().loraModule("sql-lora", "/adapters/sql").maxLoras(2))) {
      TestHttp http = new TestHttp(engine.baseUrl());

      JsonNode data = http.get("/v1/models").json().path("data");
      assertThat(data).hasSize(2);
      assertThat(data.get(0).path("id").asText()).isEqualTo(BASE);
      assertThat(data.get(0).path("parent").isNull()).isTrue();
      JsonNode card = data.get(1);
      assertThat(card.path("id").asText()).isEqualTo("sql-lora");
      assertThat(card.path("root").asText()).isEqualTo("/adapters/sql");
      assertThat(card.path("parent").asText()).isEqualTo(BASE);

      // The base model computes the prompt; the adapter finds none of it cached, then its own.
      assertThat(cached(http.post("/v1/completions", completion(BASE, 100)))).isZero();
      TestHttp.Reply lora = http.post("/v1/completions", completion("sql-lora", 100));
      assertThat(lora.status()).isEqualTo(200);
      assertThat(lora.json().path("model").asText()).isEqualTo("sql-lora");
      assertThat(cached(lora)).isZero();
      assertThat(cached(http.post("/v1/completions", completion("sql-lora", 100)))).isEqualTo(48);

      TestHttp.Reply unknown = http.post("/v1/completions", completion("other-lora", 100));
      assertThat(unknown.status()).isEqualTo(404);
      assertThat(unknown.json().path("error").path("type").asText()).isEqualTo("NotFoundError");

      // Runtime loading is off unless VLLM_ALLOW_RUNTIME_LORA_UPDATING says otherwise.
      assertThat(
              http.post("/v1/load_lora_adapter", "{\"lora_name\":\"x\",\"lora_path\":\"/x\"}")
                  .status())
          .isEqualTo(404);

      var families = PrometheusParser.parse(http.get("/metrics").body());
      var info = families.get("vllm:lora_requests_info");
      assertThat(info).isNotNull();
      assertThat(info.samples()).hasSize(1);
      assertThat(info.samples().get(0).labels()).containsEntry("max_lora", "2");
    }
  }

  @Test
  void loadsAndUnloadsAdaptersAtRunTime() throws Exception {
    try (SimulatedEngine engine =
        SimulatedEngine.start(fast().enableLora(true).runtimeLoraUpdating(true))) {
      TestHttp http = new TestHttp(engine.baseUrl());
      String load = "{\"lora_name\":\"chat-lora\",\"lora_path\":\"/adapters/chat\"}";
      TestHttp.Reply ok = http.post("/v1/load_lora_adapter", load);
      assertThat(ok.status()).isEqualTo(200);
      assertThat(ok.body()).startsWith("Success: LoRA adapter 'chat-lora'");
      assertThat(http.post("/v1/load_lora_adapter", load).status()).isEqualTo(400);
      assertThat(http.post("/v1/load_lora_adapter", "{\"lora_name\":\"y\"}").status())
          .isEqualTo(400);
      assertThat(ids(http)).containsExactly(BASE, "chat-lora");
      assertThat(http.post("/v1/completions", completion("chat-lora", 0)).status()).isEqualTo(200);

      String unload = "{\"lora_name\":\"chat-lora\"}";
      assertThat(http.post("/v1/unload_lora_adapter", unload).status()).isEqualTo(200);
      assertThat(http.post("/v1/unload_lora_adapter", unload).status()).isEqualTo(404);
      assertThat(ids(http)).containsExactly(BASE);
      assertThat(http.post("/v1/completions", completion("chat-lora", 0)).status()).isEqualTo(404);
    }
  }

  @Test
  void loraRequestsInfoNamesTheAdaptersRunning() throws Exception {
    try (SimulatedEngine engine =
        SimulatedEngine.start(
            EngineSettings.defaults()
                .port(0)
                .maxModelLen(2048)
                .loraModule("sql-lora", "/adapters/sql"))) {
      TestHttp http = new TestHttp(engine.baseUrl());
      // A long stream at real speed: the adapter is in the running batch while it lasts.
      var stream =
          http.openStream(
              "/v1/completions",
              "{\"model\":\"sql-lora\",\"prompt\":[1,2,3,4],\"max_tokens\":300,"
                  + "\"ignore_eos\":true,\"stream\":true}");
      try (var body = stream.body()) {
        body.readNBytes(1); // the first byte: the request is running
        assertThat(loraInfo(http)).containsEntry("running_lora_adapters", "sql-lora");
      }
      // The client went away: the request is aborted and the batch is empty again.
      long deadline = System.nanoTime() + 5_000_000_000L;
      while (!loraInfo(http).get("running_lora_adapters").isEmpty()
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(loraInfo(http))
          .containsEntry("running_lora_adapters", "")
          .containsEntry("max_lora", "1");
      // The queue gauges follow the abort too, though no step has run since.
      assertThat(
              PrometheusParser.parse(http.get("/metrics").body())
                  .get("vllm:num_requests_running")
                  .samples()
                  .get(0)
                  .value())
          .isZero();
    }
  }

  private static java.util.Map<String, String> loraInfo(TestHttp http) throws Exception {
    var samples =
        PrometheusParser.parse(http.get("/metrics").body())
            .get("vllm:lora_requests_info")
            .samples();
    assertThat(samples).hasSize(1);
    return samples.get(0).labels();
  }

  private static List<String> ids(TestHttp http) {
    List<String> ids = new ArrayList<>();
    http.get("/v1/models").json().path("data").forEach(c -> ids.add(c.path("id").asText()));
    return ids;
  }
}
