package dev.llmstack.router.kvindex;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.protocol.prefix.BlockHasher;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The precise index follows a real engine's KV events: what the engine caches, the index knows. */
class KvIndexFeedIT {

  @Test
  void indexLearnsTheBlocksAnEngineCachesAndForgetsEvictedOnes() throws Exception {
    try (SimulatedEngine engine =
            SimulatedEngine.start(
                EngineSettings.defaults()
                    .port(0)
                    .timeScale(20)
                    .maxModelLen(1024)
                    .numGpuBlocksOverride(64)
                    .kvEventsPort(0)
                    .kvReplayPort(0));
        KvIndexFeed feed = new KvIndexFeed(new KvBlockIndex(16), "kv-events")) {
      KvBlockIndex index = feed.index();
      HttpClient http = HttpClient.newHttpClient();
      int[] prompt = IntStream.range(1000, 1300).toArray(); // 300 tokens: 18 full blocks
      long[] keys = new BlockHasher(16).chain(prompt, prompt.length, 0, 0);
      // The engine caches the prompt (and publishes its events) before the router follows it, and
      // publishes nothing after: the subscriber must ask for the replay itself on joining.
      complete(http, engine, prompt);
      feed.watch(engine.baseUrl(), engine.kvEventsEndpoint(), engine.kvReplayEndpoint());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (index.prefixDepth(engine.baseUrl(), keys, keys.length) < 18
          && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(index.prefixDepth(engine.baseUrl(), keys, keys.length)).isEqualTo(18);
      // Fill the 64-block cache with other prompts: the first prompt's blocks are evicted and
      // removed.
      for (int p = 0; p < 4; p++) {
        complete(http, engine, IntStream.range(5000 + p * 1000, 5300 + p * 1000).toArray());
      }
      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (index.prefixDepth(engine.baseUrl(), keys, keys.length) == 18
          && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(index.prefixDepth(engine.baseUrl(), keys, keys.length)).isLessThan(18);
      assertThat(index.size(engine.baseUrl())).isLessThanOrEqualTo(64);
      feed.unwatch(engine.baseUrl());
      assertThat(index.size(engine.baseUrl())).isZero();
    }
  }

  static void complete(HttpClient http, SimulatedEngine engine, int[] prompt) throws Exception {
    String ids = IntStream.of(prompt).mapToObj(Integer::toString).collect(Collectors.joining(","));
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(engine.baseUrl() + "/v1/completions"))
                .header("Content-Type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"prompt\":[" + ids + "],\"max_tokens\":1}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }
}
