package dev.llmstack.router.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.router.backend.BackendSnapshot;
import dev.llmstack.router.backend.EngineStats;
import dev.llmstack.router.backend.HealthState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PoliciesTest {

  static BackendSnapshot b(String id, int inFlight) {
    return new BackendSnapshot(id, inFlight, 0, EngineStats.NONE, HealthState.HEALTHY, false);
  }

  static BackendSnapshot b(String id, int inFlight, double waiting) {
    return new BackendSnapshot(
        id, inFlight, 0, new EngineStats(0, waiting, 0, 0, 0, 1), HealthState.HEALTHY, false);
  }

  static final RouteRequest NO_SESSION = new RouteRequest("m", null, false);

  @Test
  void roundRobinVisitsEachInTurn() {
    RoundRobinPolicy p = new RoundRobinPolicy();
    List<BackendSnapshot> c = List.of(b("a", 0), b("b", 0), b("c", 0));
    List<String> picks = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      picks.add(p.pick(NO_SESSION, c).backend().id());
    }
    assertThat(picks).containsExactly("a", "b", "c", "a", "b", "c");
  }

  @Test
  void leastOutstandingPicksTheIdlestAndCountsEngineQueue() {
    LeastOutstandingPolicy p = new LeastOutstandingPolicy();
    assertThat(p.pick(NO_SESSION, List.of(b("a", 5), b("b", 2), b("c", 9))).backend().id())
        .isEqualTo("b");
    // b has few router requests but its engine queues many (other routers' traffic).
    assertThat(p.pick(NO_SESSION, List.of(b("a", 3), b("b", 1, 20))).backend().id()).isEqualTo("a");
    Decision d = p.pick(NO_SESSION, List.of(b("a", 4)));
    assertThat(d.reason()).isEqualTo("load=4");
  }

  @Test
  void leastOutstandingSpreadsTies() {
    LeastOutstandingPolicy p = new LeastOutstandingPolicy();
    List<BackendSnapshot> c = List.of(b("a", 0), b("b", 0), b("c", 0));
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 3; i++) {
      seen.add(p.pick(NO_SESSION, c).backend().id());
    }
    assertThat(seen).containsExactlyInAnyOrder("a", "b", "c");
  }

  @Test
  void powerOfTwoNeverPicksTheMostLoadedOfManyEngines() {
    PowerOfTwoPolicy p = new PowerOfTwoPolicy();
    List<BackendSnapshot> c = List.of(b("a", 1), b("b", 2), b("c", 3), b("d", 100));
    for (int i = 0; i < 500; i++) {
      assertThat(p.pick(NO_SESSION, c).backend().id()).isNotEqualTo("d");
    }
    assertThat(p.pick(NO_SESSION, List.of(b("x", 7))).backend().id()).isEqualTo("x");
  }

  @Test
  void sessionAffinityIsStickyAndSpreadsSessions() {
    SessionAffinityPolicy p = new SessionAffinityPolicy(1.25);
    List<BackendSnapshot> c = List.of(b("a", 0), b("b", 0), b("c", 0), b("d", 0));
    Map<String, Integer> perEngine = new HashMap<>();
    for (int s = 0; s < 400; s++) {
      RouteRequest r = new RouteRequest("m", "user-" + s, false);
      String first = p.pick(r, c).backend().id();
      assertThat(p.pick(r, c).backend().id()).isEqualTo(first);
      perEngine.merge(first, 1, Integer::sum);
    }
    assertThat(perEngine).hasSize(4);
    assertThat(perEngine.values()).allSatisfy(n -> assertThat(n).isBetween(50, 160));
  }

  @Test
  void sessionAffinityMovesOnlyTheSessionsOfARemovedEngine() {
    SessionAffinityPolicy p = new SessionAffinityPolicy(100);
    List<BackendSnapshot> four = List.of(b("a", 0), b("b", 0), b("c", 0), b("d", 0));
    List<BackendSnapshot> three = List.of(b("a", 0), b("b", 0), b("c", 0));
    int moved = 0;
    for (int s = 0; s < 300; s++) {
      RouteRequest r = new RouteRequest("m", "s" + s, false);
      String before = p.pick(r, four).backend().id();
      String after = p.pick(r, three).backend().id();
      if (!before.equals("d")) {
        assertThat(after).isEqualTo(before);
      } else {
        moved++;
      }
    }
    assertThat(moved).isPositive();
  }

  @Test
  void sessionAffinityBoundsLoad() {
    SessionAffinityPolicy p = new SessionAffinityPolicy(1.25);
    RouteRequest r = new RouteRequest("m", "hot-session", false);
    String home = p.pick(r, List.of(b("a", 0), b("b", 0))).backend().id();
    String other = home.equals("a") ? "b" : "a";
    // The home engine carries far more than its share: the session spills to the other one.
    List<BackendSnapshot> loaded =
        List.of(b(home, 10), b(other, 0)).stream()
            .sorted((x, y) -> x.id().compareTo(y.id()))
            .toList();
    Decision d = p.pick(r, loaded);
    assertThat(d.backend().id()).isEqualTo(other);
    assertThat(d.reason()).isEqualTo("session-spill");
  }

  @Test
  void sessionAffinityWithoutKeyFallsBackToLeastLoaded() {
    SessionAffinityPolicy p = new SessionAffinityPolicy(1.25);
    Decision d = p.pick(NO_SESSION, List.of(b("a", 3), b("b", 1)));
    assertThat(d.backend().id()).isEqualTo("b");
    assertThat(d.reason()).startsWith("no-session");
  }
}
