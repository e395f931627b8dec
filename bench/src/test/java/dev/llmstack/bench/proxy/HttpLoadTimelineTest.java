package dev.llmstack.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HttpLoadTimelineTest {

  static HttpLoad.Timeline timeline(long[][] sentAndLatencyMicros) {
    long[] sent = new long[sentAndLatencyMicros.length];
    long[] latency = new long[sentAndLatencyMicros.length];
    for (int i = 0; i < sent.length; i++) {
      sent[i] = sentAndLatencyMicros[i][0];
      latency[i] = sentAndLatencyMicros[i][1];
    }
    return new HttpLoad.Timeline(sent, latency, sent.length);
  }

  @Test
  void slowRequestsCloseTogetherAreOneSpellAndFarApartAreTwo() {
    HttpLoad.Timeline t =
        timeline(
            new long[][] {
              {0, 100}, // fast
              {5_000, 9_000}, // slow, slot 0
              {25_000, 7_000}, // slow, slot 2: same spell
              {31_000, 200},
              {200_000, 6_000}, // slow, slot 20: a new spell
              {200_500, 300}
            });
    assertThat(t.slowSpells(5_000)).isEqualTo(2);
    assertThat(t.slowSpells(8_000)).isEqualTo(1);
    assertThat(t.slowSpells(10_000)).isZero();
    assertThat(t.toCsv()).startsWith("sent_us,latency_us\n0,100\n5000,9000\n").hasLineCount(7);
  }

  @Test
  void anOpenLoopRunKeepsEveryCountedRequest() throws Exception {
    byte[] body =
        "{\"model\":\"stub-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            .getBytes(StandardCharsets.UTF_8);
    try (StubBackend stub = new StubBackend(2, 1);
        HttpLoad load = new HttpLoad("127.0.0.1", stub.port(), "/v1/chat/completions", body)) {
      HttpLoad.Result r = load.openWithTimeline(4, 500, 200, 1000);
      HttpLoad.Timeline t = r.timeline();
      assertThat(r.ok()).isGreaterThan(300);
      assertThat(t.size()).isEqualTo(r.ok());
      for (int i = 0; i < t.size(); i++) {
        assertThat(t.sentMicros()[i]).isBetween(0L, 1_000_000L);
        assertThat(t.latencyMicros()[i]).isPositive();
      }
      assertThat(load.open(4, 500, 0, 200).timeline()).isNull();
    }
  }
}
