package dev.llmstack.router.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.router.Router;
import dev.llmstack.router.RouterSettings;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI clients (Java SDK, and the npm package run by node) against the router. */
class RealClientsIT {

  static final String MODEL = "meta-llama/Llama-3.1-8B-Instruct";
  static SimulatedEngine engine;
  static Router router;

  @BeforeAll
  static void start() throws Exception {
    engine =
        SimulatedEngine.start(EngineSettings.defaults().port(0).timeScale(20).maxModelLen(4096));
    router =
        Router.start(
            RouterSettings.defaults()
                .port(0)
                .backends(List.of(engine.baseUrl()))
                .healthIntervalMs(200)
                .ioThreads(1));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!router.registry().serves(MODEL) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }

  @AfterAll
  static void stop() {
    router.close();
    engine.close();
  }

  static ChatCompletionCreateParams params() {
    return ChatCompletionCreateParams.builder()
        .model(MODEL)
        .addUserMessage("Say hello")
        .maxCompletionTokens(8)
        .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
        .build();
  }

  @Test
  void openAiJavaSdkPlainAndStreaming() {
    OpenAIClient client =
        OpenAIOkHttpClient.builder().baseUrl(router.baseUrl() + "/v1").apiKey("not-needed").build();
    try {
      ChatCompletion c = client.chat().completions().create(params());
      assertThat(c.choices()).hasSize(1);
      assertThat(c.choices().get(0).message().content())
          .hasValueSatisfying(t -> assertThat(t).isNotBlank());
      assertThat(c.usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(8));
      StringBuilder text = new StringBuilder();
      int[] chunks = {0};
      try (StreamResponse<ChatCompletionChunk> stream =
          client.chat().completions().createStreaming(params())) {
        stream.stream()
            .forEach(
                chunk -> {
                  chunks[0]++;
                  chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append));
                });
      }
      assertThat(chunks[0]).isGreaterThanOrEqualTo(8);
      assertThat(text.toString().trim().split(" +")).hasSize(8);
    } finally {
      client.close();
    }
  }

  @Test
  void openAiNpmPackageRunByNode() throws Exception {
    Path dir = Path.of("target", "node-client");
    Files.createDirectories(dir);
    for (String f : List.of("package.json", "client.mjs")) {
      Files.copy(
          Path.of("src", "test", "node", f),
          dir.resolve(f),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    if (!Files.isDirectory(dir.resolve("node_modules").resolve("openai"))) {
      run(dir, 300, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error");
    }
    String out = run(dir, 120, "node", "client.mjs", router.baseUrl() + "/v1", MODEL);
    JsonNode r = Http.JSON.readTree(out.lines().reduce((a, b) -> b).orElse("{}"));
    assertThat(r.get("plainText").asText()).isNotBlank();
    assertThat(r.get("plainTokens").asInt()).isEqualTo(8);
    assertThat(r.get("streamText").asText().trim().split(" +")).hasSize(8);
    assertThat(r.get("streamTokens").asInt()).isEqualTo(8);
    assertThat(r.get("streamFinish").asText()).isEqualTo("length");
  }

  static String run(Path dir, int timeoutSeconds, String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", cmd) + " timed out: " + out);
    }
    assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
    return out;
  }
}
