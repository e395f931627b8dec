package dev.llmstack.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BenchLoopTest {

  private static final byte[] CHAT =
      "{\"model\":\"stub-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
          .getBytes(StandardCharsets.UTF_8);
  private static final byte[] STREAM =
      "{\"model\":\"stub-model\",\"messages\":[],\"stream\":true}".getBytes(StandardCharsets.UTF_8);

  @Test
  void generatorsAndStubsOnOneLoopServeEachOtherAndLeaveItRunning() throws Exception {
    try (BenchLoop loop = new BenchLoop();
        StubBackend stub = new StubBackend(loop, 3, 1)) {
      try (HttpLoad load =
          new HttpLoad(loop, "127.0.0.1", stub.port(), "/v1/chat/completions", CHAT)) {
        HttpLoad.Result r = load.closed(8, 300);
        assertThat(r.ok()).isGreaterThan(100);
        assertThat(r.errors()).isZero();
      }
      // Closing a generator that shares the loop must not shut the loop (and the stub) down.
      try (HttpLoad load =
          new HttpLoad(loop, "127.0.0.1", stub.port(), "/v1/chat/completions", STREAM)) {
        HttpLoad.Result r = load.open(4, 200, 100, 300);
        assertThat(r.ok()).isGreaterThan(30);
        assertThat(r.errors()).isZero();
        // three events 1 ms apart: a stream cannot end sooner
        assertThat(r.latencyMicros().getMinValue()).isGreaterThanOrEqualTo(2_000);
      }
      assertThat(loop.group().isShuttingDown()).isFalse();
    }
  }
}
