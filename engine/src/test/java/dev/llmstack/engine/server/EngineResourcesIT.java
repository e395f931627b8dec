package dev.llmstack.engine.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.engine.testing.TestHttp;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * KV blocks come back, get reused by prefix and evicted least-recently-used first, over real HTTP.
 */
class EngineResourcesIT {

  private static String completion(String prompt, int maxTokens, boolean stream) {
    String p = prompt.startsWith("[") ? prompt : "\"" + prompt + "\"";
    return "{\"prompt\":"
        + p
        + ",\"max_tokens\":"
        + maxTokens
        + ",\"ignore_eos\":true"
        + (stream ? ",\"stream\":true" : "")
        + "}";
  }

  private static void awaitFreeBlocks(SimulatedEngine engine, int expected) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (engine.freeBlocks() != expected && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(engine.freeBlocks()).isEqualTo(expected);
  }

  @Test
  void everyBlockReturnsAfterFinishedAndDisconnectedStreams() throws Exception {
    try (SimulatedEngine engine =
        SimulatedEngine.start(
            EngineSettings.defaults()
                .port(0)
                .timeScale(1)
                .numGpuBlocksOverride(2000)
                .maxModelLen(8192))) {
      TestHttp http = new TestHttp(engine.baseUrl());
      int total = engine.totalBlocks();
      assertThat(engine.freeBlocks()).isEqualTo(total);

      // Long streams whose clients disconnect mid-way...
      List<HttpResponse<InputStream>> open = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        HttpResponse<InputStream> r =
            http.openStream("/v1/completions", completion("tell story number " + i, 5000, true));
        assertThat(r.statusCode()).isEqualTo(200);
        r.body().readNBytes(200); // some tokens arrived
        open.add(r);
      }
      // ...while finished requests run beside them.
      List<CompletableFuture<TestHttp.Reply>> done = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        int n = i;
        done.add(
            CompletableFuture.supplyAsync(
                () -> http.post("/v1/completions", completion("short " + n, 20, false))));
      }
      assertThat(engine.freeBlocks()).isLessThan(total);
      for (HttpResponse<InputStream> r : open) {
        r.body().close(); // the client goes away
      }
      for (CompletableFuture<TestHttp.Reply> f : done) {
        assertThat(f.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
      }
      awaitFreeBlocks(engine, total);
      assertThat(engine.runningRequests()).isZero();
    }
  }

  @Test
  void evictsLeastRecentlyUsedPrefixUnderKvPressure() throws Exception {
    // 64 blocks of 16 tokens. Each ~300-token prompt takes ~19 blocks.
    try (SimulatedEngine engine =
        SimulatedEngine.start(
            EngineSettings.defaults()
                .port(0)
                .timeScale(50)
                .numGpuBlocksOverride(64)
                .maxModelLen(1024))) {
      TestHttp http = new TestHttp(engine.baseUrl());
      // Prompts as token ids: exactly 300 tokens each (18 full blocks + 1 partial), no shared
      // prefix.
      String a = ids(1000, 300);
      String b = ids(2000, 300);
      String c = ids(3000, 300);
      String d = ids(4000, 300);
      http.post("/v1/completions", completion(a, 1, false));
      http.post("/v1/completions", completion(b, 1, false));
      http.post("/v1/completions", completion(c, 1, false));
      // a is the least recently used; touching it again makes b the oldest.
      assertThat(cached(http, a)).isPositive();
      // d needs more blocks than are free and never used: b's cached blocks are evicted first.
      http.post("/v1/completions", completion(d, 1, false));
      int stillA = cached(http, a);
      int stillB = cached(http, b);
      assertThat(stillA).as("recently used prefix survives").isEqualTo(18 * 16);
      assertThat(engine.freeBlocks()).isEqualTo(64);
      assertThat(stillB).as("least recently used prefix evicted").isLessThan(stillA);
    }
  }

  private static String ids(int from, int n) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "" : ",").append(from + i);
    }
    return sb.append(']').toString();
  }

  private static int cached(TestHttp http, String prompt) {
    JsonNode j = http.post("/v1/completions", completion(prompt, 1, false)).json();
    return j.at("/usage/prompt_tokens_details/cached_tokens").asInt();
  }
}
