package dev.llmstack.router.ui;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.router.backend.BackendSnapshot;
import dev.llmstack.router.backend.EngineStats;
import dev.llmstack.router.backend.HealthState;
import dev.llmstack.router.routing.Decision;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DecisionLogTest {

  static Decision decision(String engine, String reason) {
    return new Decision(
        new BackendSnapshot(engine, 0, 0, EngineStats.NONE, HealthState.HEALTHY, false), reason);
  }

  @Test
  void keepsTheNewestFirstAndForgetsBeyondItsCapacity() {
    DecisionLog log = new DecisionLog(8);
    for (int i = 0; i < 20; i++) {
      log.routed("req-" + i, "m", "round-robin", decision("e" + (i % 3), "rr=" + i), i == 19);
    }
    assertThat(log.count()).isEqualTo(20);
    List<DecisionLog.Entry> recent = log.recent(100);
    assertThat(recent).hasSize(8); // bounded by the ring
    assertThat(recent).extracting(DecisionLog.Entry::requestId).startsWith("req-19", "req-18");
    assertThat(recent.get(0).retry()).isTrue();
    assertThat(recent.get(0).engine()).isEqualTo("e1");
    assertThat(recent.get(0).reason()).isEqualTo("rr=19");
    assertThat(recent.get(7).requestId()).isEqualTo("req-12");
    assertThat(log.recent(3))
        .extracting(DecisionLog.Entry::requestId)
        .containsExactly("req-19", "req-18", "req-17");
  }

  @Test
  void anEmptyLogAndAPartlyFilledOne() {
    DecisionLog log = new DecisionLog(100);
    assertThat(log.recent(10)).isEmpty();
    log.routed("only", "m", "p", decision("e", "load=0"), false);
    assertThat(log.recent(10)).extracting(DecisionLog.Entry::requestId).containsExactly("only");
  }

  @Test
  void concurrentWritersNeverLoseTheCountOrBreakReaders() throws Exception {
    DecisionLog log = new DecisionLog(64);
    int threads = 4;
    int each = 20_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch go = new CountDownLatch(1);
    for (int t = 0; t < threads; t++) {
      int id = t;
      pool.execute(
          () -> {
            try {
              go.await();
            } catch (InterruptedException e) {
              return;
            }
            for (int i = 0; i < each; i++) {
              log.routed("t" + id + "-" + i, "m", "p", decision("e", "r"), false);
            }
          });
    }
    go.countDown();
    while (log.count() < (long) threads * each) {
      assertThat(log.recent(64)).hasSizeLessThanOrEqualTo(64).doesNotContainNull();
    }
    pool.shutdown();
    assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    assertThat(log.count()).isEqualTo((long) threads * each);
    assertThat(log.recent(1000)).hasSize(64);
  }
}
