package dev.llmstack.router.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.router.discovery.Endpoint;
import org.junit.jupiter.api.Test;

class BackendTest {

  static final long S = 1_000_000_000L;

  @Test
  void consecutiveFailuresEjectThenProbationThenBack() {
    Backend b =
        new Backend(Endpoint.parse("http://127.0.0.1:1"), new OutlierPolicy(3, 2 * S, 60 * S));
    long t = 1000 * S;
    b.requestFailed(t);
    b.requestFailed(t);
    assertThat(b.health(t)).isEqualTo(HealthState.HEALTHY);
    b.requestFailed(t);
    assertThat(b.health(t)).isEqualTo(HealthState.EJECTED);
    assertThat(b.routable(t + S)).isFalse();
    assertThat(b.health(t + 2 * S)).isEqualTo(HealthState.PROBATION);
    assertThat(b.routable(t + 2 * S)).isTrue();
    // One failure on probation ejects again, for twice as long.
    b.requestFailed(t + 2 * S);
    assertThat(b.health(t + 5 * S)).isEqualTo(HealthState.EJECTED);
    assertThat(b.health(t + 6 * S)).isEqualTo(HealthState.PROBATION);
    b.requestSucceeded();
    assertThat(b.health(t + 6 * S)).isEqualTo(HealthState.HEALTHY);
    assertThat(b.ejections()).isZero();
  }

  @Test
  void successResetsTheFailureCount() {
    Backend b = new Backend(Endpoint.parse("127.0.0.1:2"), new OutlierPolicy(2, S, S));
    b.requestFailed(0);
    b.requestSucceeded();
    b.requestFailed(0);
    assertThat(b.health(0)).isEqualTo(HealthState.HEALTHY);
  }

  @Test
  void drainedOrProbedDownEnginesTakeNoTraffic() {
    Backend b = new Backend(Endpoint.parse("http://h:3/v1/"), OutlierPolicy.DEFAULT);
    assertThat(b.id()).isEqualTo("http://h:3");
    assertThat(b.routable(0)).isTrue();
    b.draining(true);
    assertThat(b.routable(0)).isFalse();
    b.draining(false);
    b.probed(false);
    assertThat(b.health(0)).isEqualTo(HealthState.DOWN);
    assertThat(b.routable(0)).isFalse();
  }

  @Test
  void loadCountersFollowDispatchFirstByteAndFinish() {
    Backend b = new Backend(Endpoint.parse("http://h:4"), OutlierPolicy.DEFAULT);
    b.dispatched();
    b.dispatched();
    assertThat(b.inFlight()).isEqualTo(2);
    assertThat(b.awaitingFirstByte()).isEqualTo(2);
    b.firstByte();
    b.finished(true);
    b.finished(false);
    assertThat(b.inFlight()).isZero();
    assertThat(b.awaitingFirstByte()).isZero();
  }

  @Test
  void tracksTheAdaptersOfRequestsInFlight() {
    Backend b = new Backend(Endpoint.parse("http://h:5"), OutlierPolicy.DEFAULT);
    assertThat(b.snapshot(0).activeLoras()).isEmpty();
    b.dispatched("sql-lora");
    b.dispatched("sql-lora");
    b.dispatched(null);
    assertThat(b.snapshot(0).activeLoras()).containsExactly("sql-lora");
    b.stats(new EngineStats(3, 0, 0, 0, 0, 1, 2, java.util.Set.of("chat-lora")));
    assertThat(b.snapshot(0).activeLoras()).containsExactlyInAnyOrder("sql-lora", "chat-lora");
    assertThat(b.activeLoras()).hasSize(2);
    assertThat(b.snapshot(0).loraSlotsFull("other")).isTrue();
    b.finished(true, "sql-lora");
    b.finished(false, null);
    assertThat(b.snapshot(0).activeLoras()).contains("sql-lora");
    b.finished(true, "sql-lora");
    assertThat(b.snapshot(0).activeLoras()).containsExactly("chat-lora");
    assertThat(b.snapshot(0).loraSlotsFull("other")).isFalse();
    assertThat(b.inFlight()).isZero();
  }
}
