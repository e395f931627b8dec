package dev.llmstack.engine.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.engine.testing.TestHttp;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** Fault injection through the admin endpoint and flags: what chaos tests of the router rely on. */
class EngineFaultsIT {

  private static final String SHORT = "{\"prompt\":\"Hi\",\"max_tokens\":4,\"ignore_eos\":true}";

  private static SimulatedEngine start(EngineSettings s) throws Exception {
    return SimulatedEngine.start(s.port(0).timeScale(20).maxModelLen(4096));
  }

  @Test
  void errorRateOneAnswersEveryGenerationWith500() throws Exception {
    try (SimulatedEngine engine = start(EngineSettings.defaults())) {
      TestHttp http = new TestHttp(engine.baseUrl());
      assertThat(http.post("/admin/faults", "{\"error_rate\":1.0}").status()).isEqualTo(200);
      TestHttp.Reply r = http.post("/v1/completions", SHORT);
      assertThat(r.status()).isEqualTo(500);
      assertThat(r.json().at("/error/type").asText()).isEqualTo("InternalServerError");
      assertThat(http.delete("/admin/faults").status()).isEqualTo(200);
      assertThat(http.post("/v1/completions", SHORT).status()).isEqualTo(200);
    }
  }

  @Test
  void hangAcceptsButProducesNothingUntilReleased() throws Exception {
    try (SimulatedEngine engine = start(EngineSettings.defaults())) {
      TestHttp http = new TestHttp(engine.baseUrl());
      http.post("/admin/faults", "{\"hang\":true}");
      CompletableFuture<TestHttp.Reply> pending =
          CompletableFuture.supplyAsync(() -> http.post("/v1/completions", SHORT));
      assertThatThrownBy(() -> pending.get(1, TimeUnit.SECONDS))
          .isInstanceOf(TimeoutException.class);
      assertThat(http.get("/health").status()).isEqualTo(200); // a hung vLLM still says healthy
      http.post("/admin/faults", "{\"hang\":false}");
      assertThat(pending.get(10, TimeUnit.SECONDS).status()).isEqualTo(200);
    }
  }

  @Test
  void crashAfterTokensCutsStreamsAndStopsListening() throws Exception {
    try (SimulatedEngine engine = start(EngineSettings.defaults())) {
      TestHttp http = new TestHttp(engine.baseUrl());
      http.post("/admin/faults", "{\"crash_after_tokens\":20}");
      HttpResponse<InputStream> r =
          http.openStream(
              "/v1/completions",
              "{\"prompt\":\"Hi\",\"max_tokens\":1000,\"ignore_eos\":true,\"stream\":true}");
      java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
      try (InputStream in = r.body()) {
        in.transferTo(got); // ends when the engine dies: the chunked body is cut short
      } catch (java.io.IOException expected) {
        // a truncated stream is exactly what a crash looks like to the client
      }
      String text = got.toString(java.nio.charset.StandardCharsets.UTF_8);
      assertThat(text).contains("data: ");
      assertThat(text).doesNotContain("[DONE]");
      assertThat(engine.crashed()).isTrue();
      assertThatThrownBy(() -> http.get("/health")).isInstanceOf(UncheckedIOException.class);
    }
  }

  @Test
  void refuseConnectionsThenAcceptAgainOnTheSamePort() throws Exception {
    try (SimulatedEngine engine = start(EngineSettings.defaults())) {
      TestHttp http = new TestHttp(engine.baseUrl());
      http.post("/admin/faults", "{\"refuse_connections\":true}");
      assertThatThrownBy(() -> new TestHttp(engine.baseUrl()).get("/health"))
          .isInstanceOf(UncheckedIOException.class);
      engine.server().applyFaults(new Faults.Settings(null, null, null, null, false));
      assertThat(new TestHttp(engine.baseUrl()).get("/health").status()).isEqualTo(200);
    }
  }

  @Test
  void slowdownStretchesEngineTime() throws Exception {
    try (SimulatedEngine engine =
        start(EngineSettings.defaults().faults(new Faults.Settings(null, null, 4.0, null, null)))) {
      TestHttp http = new TestHttp(engine.baseUrl());
      // Engine time is deterministic where wall time is not: compare the step time the engine
      // spent.
      long before = engine.driver().modelledNanos();
      http.post("/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":40,\"ignore_eos\":true}");
      long slow = engine.driver().modelledNanos() - before;
      http.post("/admin/faults", "{\"slowdown\":1.0}");
      before = engine.driver().modelledNanos();
      http.post("/v1/completions", "{\"prompt\":\"Hi\",\"max_tokens\":40,\"ignore_eos\":true}");
      long normal = engine.driver().modelledNanos() - before;
      assertThat((double) slow / normal).isCloseTo(4.0, org.assertj.core.data.Offset.offset(0.2));
      assertThat(http.get("/admin/faults").json().get("slowdown").asDouble()).isEqualTo(1.0);
    }
  }
}
