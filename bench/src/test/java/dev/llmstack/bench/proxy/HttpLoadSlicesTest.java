package dev.llmstack.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class HttpLoadSlicesTest {

  @Test
  void aLoadsOwnClockRunsOnlyInItsSlices() {
    HttpLoad.Slices second = new HttpLoad.Slices(10, 0, 3, 1); // slices of 10 ns, the 2nd of 3
    assertThat(second.wall(1000, 0)).isEqualTo(1010);
    assertThat(second.wall(1000, 9)).isEqualTo(1019);
    assertThat(second.wall(1000, 10)).isEqualTo(1040); // its next slice, after the third's
    assertThat(second.wall(1000, 25)).isEqualTo(1075);
    // 2 ns of guard after every slice: slices start at 0, 12, 24, 36, ...
    HttpLoad.Slices guarded = new HttpLoad.Slices(10, 2, 3, 1);
    assertThat(guarded.wall(1000, 0)).isEqualTo(1012);
    assertThat(guarded.wall(1000, 9)).isEqualTo(1021);
    assertThat(guarded.wall(1000, 10)).isEqualTo(1048);
    assertThat(HttpLoad.Slices.WHOLE.wall(1000, 123_456)).isEqualTo(124_456);
    assertThatThrownBy(() -> new HttpLoad.Slices(10, 0, 2, 2))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void slicedLoadsTakeTurnsAndEachCountsItsOwnWindow() throws Exception {
    byte[] body =
        "{\"model\":\"stub-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
            .getBytes(StandardCharsets.UTF_8);
    try (BenchLoop loop = new BenchLoop();
        StubBackend a = new StubBackend(loop, 2, 1);
        StubBackend b = new StubBackend(loop, 2, 1);
        HttpLoad toA = new HttpLoad(loop, "127.0.0.1", a.port(), "/v1/chat/completions", body);
        HttpLoad toB = new HttpLoad(loop, "127.0.0.1", b.port(), "/v1/chat/completions", body)) {
      long slice = TimeUnit.MILLISECONDS.toNanos(50);
      long before = System.nanoTime();
      long turn = slice + TimeUnit.MILLISECONDS.toNanos(10);
      // 100 ms of warm-up and 600 counted, on each load's own clock, in 50-ms slices taken in
      // turn, 10 ms apart
      List<HttpLoad.Result> rs = HttpLoad.sliced(List.of(toA, toB), 4, 500, 100, 600, 50, 10, true);
      long elapsed = System.nanoTime() - before;
      // taking turns, the two loads' 700 ms each (14 slices) last 14 x 60 ms on the wall clock
      assertThat(elapsed).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(820));
      HttpLoad.Timeline ta = rs.get(0).timeline();
      HttpLoad.Timeline tb = rs.get(1).timeline();
      // each counted window begins after two of its own slices of warm-up: A's in slice 4, B's in 5
      assertThat(tb.startNanos() - ta.startNanos()).isEqualTo(turn);
      long begin = ta.startNanos() - 4 * turn;
      for (int k = 0; k < 2; k++) {
        HttpLoad.Result r = rs.get(k);
        HttpLoad.Timeline t = r.timeline();
        assertThat(r.seconds()).isEqualTo(0.6);
        assertThat(r.errors()).isZero();
        assertThat(r.ok()).isBetween(280L, 300L); // 500/s for 0.6 s of its own slices
        assertThat(t.size()).isEqualTo(r.ok());
        for (int i = 0; i < t.size(); i++) {
          long sent = t.startNanos() + t.sentMicros()[i] * 1000 - begin;
          assertThat(sent / turn % 2).as("turn of request %d of load %d", i, k).isEqualTo(k);
          assertThat(sent % turn).as("request %d of load %d in the guard", i, k).isLessThan(slice);
        }
      }
    }
  }
}
