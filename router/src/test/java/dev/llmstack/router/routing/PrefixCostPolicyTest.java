package dev.llmstack.router.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.router.backend.BackendSnapshot;
import dev.llmstack.router.backend.EngineStats;
import dev.llmstack.router.backend.HealthState;
import dev.llmstack.router.kvindex.ApproximatePrefixIndex;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The cache-aware cost model: cached prefix against load. */
class PrefixCostPolicyTest {

  static BackendSnapshot b(String id, int inFlight) {
    return new BackendSnapshot(id, inFlight, 0, EngineStats.NONE, HealthState.HEALTHY, false);
  }

  static long[] keys(int n) {
    long[] k = new long[n];
    for (int i = 0; i < n; i++) {
      k[i] = 1000 + i;
    }
    return k;
  }

  /** 64 blocks = 1024 tokens of a 1100-token prompt are cached on "a". */
  static PrefixAwarePolicy policyWithHitOnA(ApproximatePrefixIndex idx) {
    idx.record("a", keys(64), 64, System.nanoTime());
    return new PrefixAwarePolicy(idx, 16, CostWeights.DEFAULT, System::nanoTime);
  }

  @Test
  void aHitWinsOverAnIdleEngineWhileItsLoadCostsLessThanThePrefillItSaves() {
    ApproximatePrefixIndex idx = new ApproximatePrefixIndex(100_000, Long.MAX_VALUE / 4);
    PrefixAwarePolicy p = policyWithHitOnA(idx);
    RouteRequest r = new RouteRequest("m", null, false, keys(68), 1100);
    // a: 1100 - 1024 + 256*2 = 588; b: 1100 + 0 = 1100.
    Decision d = p.pick(r, List.of(b("a", 2), b("b", 0)));
    assertThat(d.backend().id()).isEqualTo("a");
    assertThat(d.predictedCachedTokens()).isEqualTo(1024);
    assertThat(d.reason()).startsWith("hit=1024/1100");
  }

  @Test
  void loadOutweighsTheHitWhenTheCachedEngineIsBusy() {
    ApproximatePrefixIndex idx = new ApproximatePrefixIndex(100_000, Long.MAX_VALUE / 4);
    PrefixAwarePolicy p = policyWithHitOnA(idx);
    RouteRequest r = new RouteRequest("m", null, false, keys(68), 1100);
    // a: 76 + 256*5 = 1356 > b: 1100.
    Decision d = p.pick(r, List.of(b("a", 5), b("b", 0)));
    assertThat(d.backend().id()).isEqualTo("b");
    assertThat(d.predictedCachedTokens()).isZero();
  }

  @Test
  void withNoHitAnywhereRequestsSpreadAndPreferTheLessLoaded() {
    PrefixAwarePolicy p =
        new PrefixAwarePolicy(
            new ApproximatePrefixIndex(100_000, Long.MAX_VALUE / 4),
            16,
            CostWeights.DEFAULT,
            System::nanoTime);
    RouteRequest r = new RouteRequest("m", null, false, keys(10), 160);
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 6; i++) {
      seen.add(p.pick(r, List.of(b("a", 0), b("b", 0), b("c", 0))).backend().id());
    }
    assertThat(seen).containsExactlyInAnyOrder("a", "b", "c");
    assertThat(p.pick(r, List.of(b("a", 3), b("b", 1), b("c", 2))).backend().id()).isEqualTo("b");
  }

  @Test
  void withoutKeysTheCostModelIsLeastLoaded() {
    PrefixAwarePolicy p =
        new PrefixAwarePolicy(
            new ApproximatePrefixIndex(100_000, Long.MAX_VALUE / 4),
            16,
            CostWeights.DEFAULT,
            System::nanoTime);
    Decision d = p.pick(new RouteRequest("m", null, false), List.of(b("a", 4), b("b", 1)));
    assertThat(d.backend().id()).isEqualTo("b");
    assertThat(d.predictedCachedTokens()).isEqualTo(-1);
  }

  @Test
  void aSharedPrefixShorterThanHalfThePromptDoesNotDrawNewConversations() {
    ApproximatePrefixIndex idx = new ApproximatePrefixIndex(100_000, Long.MAX_VALUE / 4);
    PrefixAwarePolicy p = policyWithHitOnA(idx);
    // 1024 cached tokens of a 3000-token prompt: a system prompt, not this conversation.
    RouteRequest fresh = new RouteRequest("m", null, false, keys(187), 3000);
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 4; i++) {
      Decision d = p.pick(fresh, List.of(b("a", 0), b("b", 0)));
      seen.add(d.backend().id());
      assertThat(d.predictedCachedTokens()).isZero();
    }
    assertThat(seen).containsExactlyInAnyOrder("a", "b");
    // The same hit on a 2000-token prompt is over half of it: credited.
    Decision d =
        p.pick(new RouteRequest("m", null, false, keys(125), 2000), List.of(b("a", 0), b("b", 0)));
    assertThat(d.backend().id()).isEqualTo("a");
    assertThat(d.predictedCachedTokens()).isEqualTo(1024);
  }

  @Test
  void prefillQueuedAtAnEngineCountsAgainstIt() {
    PrefixAwarePolicy p =
        new PrefixAwarePolicy(
            new ApproximatePrefixIndex(100_000, Long.MAX_VALUE / 4),
            16,
            CostWeights.DEFAULT,
            System::nanoTime);
    RouteRequest r = new RouteRequest("m", null, false, keys(10), 160);
    // Same request count, but a holds 20,000 tokens of prefill not yet started: b is sooner.
    BackendSnapshot a =
        new BackendSnapshot("a", 1, 1, EngineStats.NONE, HealthState.HEALTHY, false, 20_000);
    BackendSnapshot busyB =
        new BackendSnapshot("b", 3, 0, EngineStats.NONE, HealthState.HEALTHY, false, 0);
    // a: 160 + 256 + 20,000; b: 160 + 768.
    assertThat(p.pick(r, List.of(a, busyB)).backend().id()).isEqualTo("b");
    // With the weight at 0 only request counts matter.
    PrefixAwarePolicy countsOnly =
        new PrefixAwarePolicy(
            new ApproximatePrefixIndex(100_000, Long.MAX_VALUE / 4),
            16,
            new CostWeights(256, 0.5, 0, 0.8),
            System::nanoTime);
    assertThat(countsOnly.pick(r, List.of(a, busyB)).backend().id()).isEqualTo("a");
  }

  static BackendSnapshot loraEngine(String id, int inFlight, int maxLoras, String... active) {
    EngineStats st = new EngineStats(inFlight, 0, 0, 0, 0, 1, maxLoras, Set.of());
    return new BackendSnapshot(id, inFlight, 0, st, HealthState.HEALTHY, false, 0, Set.of(active));
  }

  @Test
  void aLoraRequestAvoidsAnEngineWhoseAdapterSlotsOtherAdaptersHold() {
    PrefixAwarePolicy p =
        new PrefixAwarePolicy(
            new ApproximatePrefixIndex(100_000, Long.MAX_VALUE / 4),
            16,
            CostWeights.DEFAULT,
            System::nanoTime);
    RouteRequest sql =
        new RouteRequest(
            "sql-lora", null, false, keys(10), 160, RouteRequest.KeySource.TOKENS, "sql-lora");
    // a is less loaded but runs another adapter in its only slot; b runs sql-lora already.
    // No hits: a = 256*2 + slot wait 256*2 = 1024 > b = 256*3 = 768.
    BackendSnapshot a = loraEngine("a", 2, 1, "chat-lora");
    BackendSnapshot b = loraEngine("b", 3, 1, "sql-lora");
    assertThat(a.loraSlotsFull("sql-lora")).isTrue();
    assertThat(b.loraSlotsFull("sql-lora")).isFalse();
    Decision d = p.pick(sql, List.of(a, b));
    assertThat(d.backend().id()).isEqualTo("b");
    // A free slot is no obstacle: c has room for a second adapter.
    BackendSnapshot c = loraEngine("c", 1, 2, "chat-lora");
    assertThat(p.pick(sql, List.of(b, c)).backend().id()).isEqualTo("c");
    // The base model's requests never wait for adapter slots.
    RouteRequest base = new RouteRequest("m", null, false, keys(10), 160);
    assertThat(p.pick(base, List.of(a, b)).backend().id()).isEqualTo("a");
    // With the weight at 0 the model is blind to slots and takes the less loaded engine.
    PrefixAwarePolicy blind =
        new PrefixAwarePolicy(
            new ApproximatePrefixIndex(100_000, Long.MAX_VALUE / 4),
            16,
            new CostWeights(256, 0.5, 1.0, 0.8, 0),
            System::nanoTime);
    assertThat(blind.pick(sql, List.of(a, b)).backend().id()).isEqualTo("a");
  }
}
