package dev.llmstack.engine.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.engine.testing.JsonShape;
import dev.llmstack.engine.testing.TestHttp;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The engine's OpenAI-compatible API against vLLM's shapes, over real HTTP on loopback. */
class EngineApiIT {

  static final String MODEL = "meta-llama/Llama-3.1-8B-Instruct";
  static SimulatedEngine engine;
  static TestHttp http;

  @BeforeAll
  static void start() throws Exception {
    engine =
        SimulatedEngine.start(
            EngineSettings.defaults().model(MODEL).port(0).timeScale(20).maxModelLen(4096));
    http = new TestHttp(engine.baseUrl());
  }

  @AfterAll
  static void stop() {
    engine.close();
  }

  static JsonNode example(String name) throws IOException {
    try (InputStream in = EngineApiIT.class.getResourceAsStream("/vllm-examples/" + name)) {
      return TestHttp.JSON.readTree(in);
    }
  }

  static List<JsonNode> exampleStream(String name) throws IOException {
    try (InputStream in = EngineApiIT.class.getResourceAsStream("/vllm-examples/" + name)) {
      List<JsonNode> out = new ArrayList<>();
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (line.startsWith("data: ") && !line.equals("data: [DONE]")) {
          out.add(TestHttp.JSON.readTree(line.substring(6)));
        }
      }
      return out;
    }
  }

  static String chat(String content, int maxTokens, boolean stream) {
    return "{\"model\":\""
        + MODEL
        + "\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
        + "{\"role\":\"user\",\"content\":\""
        + content
        + "\"}],\"max_tokens\":"
        + maxTokens
        + ",\"ignore_eos\":true,\"seed\":7"
        + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "")
        + "}";
  }

  @Test
  void chatCompletionHasVllmShapeAndExactLength() throws IOException {
    TestHttp.Reply r = http.post("/v1/chat/completions", chat("Say hello", 12, false));
    assertThat(r.status()).isEqualTo(200);
    JsonNode j = r.json();
    assertThat(JsonShape.of(j)).isEqualTo(JsonShape.of(example("chat-completion.json")));
    assertThat(j.get("id").asText()).startsWith("chatcmpl-");
    assertThat(j.at("/usage/completion_tokens").asInt()).isEqualTo(12);
    assertThat(j.at("/choices/0/finish_reason").asText()).isEqualTo("length");
    assertThat(j.at("/model").asText()).isEqualTo(MODEL);
    // The generated text re-tokenizes to exactly the reported completion tokens.
    TestHttp.Reply tok =
        http.post(
            "/tokenize",
            "{\"prompt\":"
                + TestHttp.JSON.writeValueAsString(j.at("/choices/0/message/content").asText())
                + ",\"add_special_tokens\":false}");
    assertThat(tok.json().get("count").asInt()).isEqualTo(12);
  }

  @Test
  void chatStreamMatchesVllmEventSequenceAndNonStreamText() throws IOException {
    List<String> events = http.stream("/v1/chat/completions", chat("Say hello", 10, true));
    assertThat(events.get(events.size() - 1)).isEqualTo("[DONE]");
    List<JsonNode> chunks = new ArrayList<>();
    for (String e : events.subList(0, events.size() - 1)) {
      chunks.add(TestHttp.JSON.readTree(e));
    }
    List<JsonNode> ex = exampleStream("chat-stream.txt");
    // role chunk, content chunks, finish chunk, usage chunk
    assertThat(JsonShape.of(chunks.get(0))).isEqualTo(JsonShape.of(ex.get(0)));
    assertThat(JsonShape.of(chunks.get(1))).isEqualTo(JsonShape.of(ex.get(1)));
    assertThat(JsonShape.of(chunks.get(chunks.size() - 2))).isEqualTo(JsonShape.of(ex.get(2)));
    assertThat(JsonShape.of(chunks.get(chunks.size() - 1))).isEqualTo(JsonShape.of(ex.get(3)));
    assertThat(chunks.get(0).at("/choices/0/delta/role").asText()).isEqualTo("assistant");
    JsonNode usage = chunks.get(chunks.size() - 1).get("usage");
    assertThat(usage.get("completion_tokens").asInt()).isEqualTo(10);
    assertThat(chunks.get(chunks.size() - 2).at("/choices/0/finish_reason").asText())
        .isEqualTo("length");
    StringBuilder text = new StringBuilder();
    for (JsonNode c : chunks.subList(1, chunks.size() - 1)) {
      text.append(c.at("/choices/0/delta/content").asText());
      assertThat(c.get("id").asText()).isEqualTo(chunks.get(0).get("id").asText());
    }
    // Same seed, same text, streamed or not.
    String full =
        http.post("/v1/chat/completions", chat("Say hello", 10, false))
            .json()
            .at("/choices/0/message/content")
            .asText();
    assertThat(text.toString()).isEqualTo(full);
  }

  @Test
  void completionsStreamAndNonStreamShapes() throws IOException {
    String body =
        "{\"model\":\""
            + MODEL
            + "\",\"prompt\":\"Once upon a time\",\"max_tokens\":5,\"ignore_eos\":true";
    JsonNode j = http.post("/v1/completions", body + "}").json();
    assertThat(JsonShape.of(j)).isEqualTo(JsonShape.of(example("completion.json")));
    assertThat(j.at("/usage/completion_tokens").asInt()).isEqualTo(5);
    // "Once upon a time" is 4 tokens plus <|begin_of_text|>.
    assertThat(j.at("/usage/prompt_tokens").asInt()).isEqualTo(5);

    List<String> events =
        http.stream(
            "/v1/completions",
            body + ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
    List<JsonNode> ex = exampleStream("completion-stream.txt");
    assertThat(events).last().isEqualTo("[DONE]");
    assertThat(events).hasSize(5 + 2);
    assertThat(JsonShape.of(TestHttp.JSON.readTree(events.get(0))))
        .isEqualTo(JsonShape.of(ex.get(0)));
    assertThat(JsonShape.of(TestHttp.JSON.readTree(events.get(4))))
        .isEqualTo(JsonShape.of(ex.get(1)));
    assertThat(JsonShape.of(TestHttp.JSON.readTree(events.get(5))))
        .isEqualTo(JsonShape.of(ex.get(2)));
  }

  @Test
  void theLastTokenTravelsWithFinishReason() throws IOException {
    for (int i = 0; i < 20; i++) {
      List<String> events =
          http.stream(
              "/v1/completions",
              "{\"prompt\":\"Once\",\"max_tokens\":3,\"ignore_eos\":true,\"stream\":true}");
      assertThat(events).hasSize(3 + 1);
      JsonNode last = TestHttp.JSON.readTree(events.get(2));
      assertThat(last.at("/choices/0/finish_reason").asText()).isEqualTo("length");
      assertThat(last.at("/choices/0/text").asText()).isNotEmpty();
    }
  }

  @Test
  void streamWithoutIncludeUsageHasNoUsageChunk() {
    List<String> events =
        http.stream(
            "/v1/completions",
            "{\"prompt\":\"Hi\",\"max_tokens\":3,\"ignore_eos\":true,\"stream\":true}");
    assertThat(events).hasSize(3 + 1);
    assertThat(events).noneMatch(e -> e.contains("\"usage\""));
  }

  @Test
  void repeatedPrefixReportsCachedTokensAndFreshPromptDoesNot() {
    String system = "You are a helpful assistant. ".repeat(40);
    // Every Llama-3.1 chat starts with the same system header (dates), a full cached block in
    // vLLM too; a cache_salt per conversation keeps the other tests' chats out of these counts.
    String first =
        "{\"messages\":[{\"role\":\"system\",\"content\":\""
            + system
            + "\"},{\"role\":\"user\",\"content\":\"question one\"}],\"max_tokens\":2,"
            + "\"cache_salt\":\"repeated-prefix\"}";
    String second = first.replace("question one", "question two");
    JsonNode a = http.post("/v1/chat/completions", first).json();
    JsonNode b = http.post("/v1/chat/completions", second).json();
    assertThat(a.at("/usage/prompt_tokens_details/cached_tokens").asInt()).isZero();
    int cached = b.at("/usage/prompt_tokens_details/cached_tokens").asInt();
    assertThat(cached).isPositive();
    assertThat(cached % 16).isZero();
    assertThat(cached).isLessThan(b.at("/usage/prompt_tokens").asInt());
    JsonNode fresh =
        http.post(
                "/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"An unrelated question about"
                    + " sailing boats and wind\"}],\"max_tokens\":2,\"cache_salt\":\"fresh\"}")
            .json();
    assertThat(fresh.at("/usage/prompt_tokens_details/cached_tokens").asInt()).isZero();
  }

  @Test
  void modelsVersionHealthTokenize() throws IOException {
    TestHttp.Reply models = http.get("/v1/models");
    assertThat(models.status()).isEqualTo(200);
    assertThat(JsonShape.of(models.json())).isEqualTo(JsonShape.of(example("models.json")));
    assertThat(models.json().at("/data/0/id").asText()).isEqualTo(MODEL);
    assertThat(models.json().at("/data/0/max_model_len").asInt()).isEqualTo(4096);
    assertThat(http.get("/health").status()).isEqualTo(200);
    assertThat(http.get("/health").body()).isEmpty();
    assertThat(http.get("/version").json().get("version").asText()).isNotBlank();
    TestHttp.Reply tokReply = http.post("/tokenize", "{\"prompt\":\"Hello world\"}");
    assertThat(tokReply.status()).as(tokReply.body()).isEqualTo(200);
    JsonNode tok = tokReply.json();
    assertThat(tok.get("tokens").toString()).isEqualTo("[128000,9906,1917]");
    assertThat(tok.get("count").asInt()).isEqualTo(3);
    assertThat(tok.get("max_model_len").asInt()).isEqualTo(4096);
    JsonNode detok = http.post("/detokenize", "{\"tokens\":[9906,1917]}").json();
    assertThat(detok.get("prompt").asText()).isEqualTo("Hello world");
    assertThat(http.get("/load").json().has("server_load")).isTrue();
  }

  @Test
  void badInputGetsOpenAiErrorsAndTheEngineStillServes() throws IOException {
    assertError(http.post("/v1/chat/completions", "{not json"), 400, "BadRequestError");
    assertError(http.post("/v1/chat/completions", "[1,2]"), 400, "BadRequestError");
    assertError(
        http.post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\"}"), 400, "BadRequestError");
    assertError(http.post("/v1/chat/completions", "{\"messages\":\"hi\"}"), 400, "BadRequestError");
    assertError(
        http.post(
            "/v1/chat/completions",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":\"many\"}"),
        400,
        "BadRequestError");
    assertError(
        http.post(
            "/v1/chat/completions",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":-1}"),
        400,
        "BadRequestError");
    assertError(
        http.post(
            "/v1/completions",
            "{\"prompt\":\"hi\",\"max_tokens\":10,\"stream_options\":{\"include_usage\":true}}"),
        400,
        "BadRequestError");
    TestHttp.Reply huge =
        http.post("/v1/completions", "{\"prompt\":\"Hello world\",\"max_tokens\":1000000}");
    assertError(huge, 400, "BadRequestError");
    assertThat(huge.json().at("/error/message").asText())
        .isEqualTo(
            "'max_tokens' or 'max_completion_tokens' is too large: 1000000. This model's maximum"
                + " context length is 4096 tokens and your request has 3 input tokens (1000000 >"
                + " 4096 - 3).");
    TestHttp.Reply tooLong =
        http.post(
            "/v1/completions", "{\"prompt\":\"" + "hello ".repeat(5000) + "\",\"max_tokens\":1}");
    assertError(tooLong, 400, "BadRequestError");
    assertThat(tooLong.json().at("/error/message").asText())
        .startsWith(
            "This model's maximum context length is 4096 tokens. However, your request has");
    TestHttp.Reply unknown =
        http.post(
            "/v1/chat/completions",
            "{\"model\":\"no-such-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assertError(unknown, 404, "NotFoundError");
    assertThat(unknown.json()).isEqualTo(example("error-404.json"));
    TestHttp.Reply path = http.get("/v1/nothing-here");
    assertThat(path.status()).isEqualTo(404);
    assertThat(http.get("/v1/chat/completions").status()).isEqualTo(405);

    // Still serving.
    TestHttp.Reply ok = http.post("/v1/chat/completions", chat("still there?", 3, false));
    assertThat(ok.status()).isEqualTo(200);
  }

  @Test
  void requestIdHeaderIsEchoed() {
    TestHttp.Reply r =
        http.post(
            "/v1/completions",
            "{\"prompt\":\"Hi\",\"max_tokens\":2}",
            "X-Request-Id",
            "req-abc-123");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.raw().headers().firstValue("X-Request-Id")).contains("req-abc-123");
  }

  static void assertError(TestHttp.Reply r, int status, String type) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    JsonNode e = r.json().get("error");
    assertThat(e).as(r.body()).isNotNull();
    assertThat(e.get("type").asText()).isEqualTo(type);
    assertThat(e.get("code").asInt()).isEqualTo(status);
    assertThat(e.get("message").asText()).isNotBlank();
    assertThat(e.has("param")).isTrue();
  }
}
