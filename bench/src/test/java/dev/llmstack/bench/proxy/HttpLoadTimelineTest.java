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
    return new HttpLoad.Timeline(0, sent, latency, sent.length);
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
  void slowRequestsCountOnlyInSpellsWhoseSlowestStaysShort() {
    HttpLoad.Timeline t =
        timeline(
            new long[][] {
              {1_000, 1_500}, // spell 1: 3 slow, slowest 2.5 ms
              {11_200, 200},
              {10_000, 2_500}, // completion order is not send order
              {1_500, 1_200},
              {500_000, 1_100}, // spell 2: 2 slow, slowest 9 ms (a long stall)
              {501_000, 9_000},
              {900_000, 4_000}, // spell 3: 1 slow, slowest 4 ms
              {950_000, 900} // fast
            });
    assertThat(t.slowInShortSpells(1_000, 10_000, 5_000)).isEqualTo(4);
    assertThat(t.slowInShortSpells(1_000, 10_000, 10_000)).isEqualTo(6);
    // a shorter gap splits spell 1 at its 8.5-ms hole: {1_000, 1_500} and {10_000} still count
    assertThat(t.slowInShortSpells(1_000, 5_000, 5_000)).isEqualTo(4);
    assertThat(t.slowInShortSpells(1_000, 10_000, 2_000)).isZero();
  }

  @Test
  void anOpenLoopRunKeepsEveryCountedRequest() throws Exception {
    byte[] body =
        "{\"model\":\"stub-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            .getBytes(StandardCharsets.UTF_8);
    try (StubBackend stub = new StubBackend(2, 1);
        HttpLoad load = new HttpLoad("127.0.0.1", stub.port(), "/v1/chat/completions", body)) {
      long before = System.nanoTime();
      HttpLoad.Result r = load.openWithTimeline(4, 500, 200, 1000);
      long after = System.nanoTime();
      HttpLoad.Timeline t = r.timeline();
      // The counted window began after the 200 ms warm-up, on the clock a sched trace uses, and
      // lasted about a second (the last connection may finish a request interval early).
      assertThat(t.startNanos()).isBetween(before + 200_000_000L, after - 900_000_000L);
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
