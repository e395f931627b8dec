package dev.llmstack.router.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.protocol.kvevents.KvEvent;
import dev.llmstack.router.backend.BackendSnapshot;
import dev.llmstack.router.backend.EngineStats;
import dev.llmstack.router.backend.HealthState;
import dev.llmstack.router.kvindex.ApproximatePrefixIndex;
import dev.llmstack.router.kvindex.KvBlockIndex;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class KvAwarePolicyTest {

  private static BackendSnapshot b(String id) {
    return new BackendSnapshot(id, 0, 0, EngineStats.NONE, HealthState.HEALTHY, false);
  }

  private static int[] tokens(int n) {
    int[] t = new int[n];
    for (int i = 0; i < n; i++) {
      t[i] = 100 + i;
    }
    return t;
  }

  @Test
  void aJustRoutedPrefixCountsUntilItsEventsArriveThenThePreciseIndexDecides() {
    KvBlockIndex index = new KvBlockIndex(16);
    ApproximatePrefixIndex approx = new ApproximatePrefixIndex(100_000, 600_000_000_000L);
    AtomicLong clock = new AtomicLong(1_000_000_000L);
    KvAwarePolicy p = new KvAwarePolicy(index, approx, e -> true, CostWeights.DEFAULT, clock::get);
    int[] prompt = tokens(1024);
    long[] keys = index.hasher().chain(prompt, prompt.length, 0, 0);
    RouteRequest r = new RouteRequest("m", null, true, keys, prompt.length);
    List<BackendSnapshot> engines = List.of(b("a"), b("b"), b("c"));

    // The router sent this prefix to b a moment ago; b's events have not come yet.
    approx.record("b", keys, keys.length, clock.get());
    Decision sibling = p.pick(r, engines);
    assertThat(sibling.backend().id()).isEqualTo("b");
    assertThat(sibling.predictedCachedTokens()).isEqualTo(1024);

    // Seconds later with still no event: the speculation has expired, the request spreads.
    clock.addAndGet(KvAwarePolicy.SPECULATIVE_NANOS + 1);
    assertThat(p.pick(r, engines).predictedCachedTokens()).isZero();

    // c's events say it holds the prefix: the precise index wins.
    index.apply(
        "c",
        new KvEvent.Batch(
            0,
            List.of(new KvEvent.BlockStored(hashes(64), null, prompt, 16, null, "GPU", null)),
            null));
    Decision d = p.pick(r, engines);
    assertThat(d.backend().id()).isEqualTo("c");
    assertThat(d.predictedCachedTokens()).isEqualTo(1024);
  }

  @Test
  void characterKeysUseWhatTheRouterSentEvenForEnginesWithEvents() {
    KvBlockIndex index = new KvBlockIndex(16);
    ApproximatePrefixIndex approx = new ApproximatePrefixIndex(100_000, 600_000_000_000L);
    AtomicLong clock = new AtomicLong(1_000_000_000L);
    KvAwarePolicy p = new KvAwarePolicy(index, approx, e -> true, CostWeights.DEFAULT, clock::get);
    long[] keys = new long[40];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = 555 + i;
    }
    approx.record("b", keys, keys.length, clock.get());
    clock.addAndGet(60_000_000_000L); // a minute later: far past any speculation
    RouteRequest chars =
        new RouteRequest("m", null, true, keys, 640, RouteRequest.KeySource.CHARACTERS);
    Decision d = p.pick(chars, List.of(b("a"), b("b"), b("c")));
    assertThat(d.backend().id()).isEqualTo("b");
    assertThat(d.predictedCachedTokens()).isEqualTo(640);
    // The same keys as token keys: the precise index (empty) decides, no hit.
    RouteRequest tokens = new RouteRequest("m", null, true, keys, 640);
    assertThat(p.pick(tokens, List.of(b("a"), b("b"), b("c"))).predictedCachedTokens()).isZero();
  }

  @Test
  void blocksOffloadedToCpuSaveLessThanBlocksInGpuMemory() {
    KvBlockIndex index = new KvBlockIndex(16);
    ApproximatePrefixIndex approx = new ApproximatePrefixIndex(100_000, 600_000_000_000L);
    KvAwarePolicy p =
        new KvAwarePolicy(index, approx, e -> true, CostWeights.DEFAULT, System::nanoTime);
    int[] prompt = tokens(2048);
    long[] keys = index.hasher().chain(prompt, prompt.length, 0, 0);
    // a holds the whole prompt offloaded to CPU; b holds the first 1,920 tokens in GPU memory.
    index.apply(
        "a",
        new KvEvent.Batch(
            0,
            List.of(new KvEvent.BlockStored(hashes(128), null, prompt, 16, null, "CPU", null)),
            null));
    index.apply(
        "b",
        new KvEvent.Batch(
            0,
            List.of(
                new KvEvent.BlockStored(
                    hashes(120),
                    null,
                    java.util.Arrays.copyOf(prompt, 1920),
                    16,
                    null,
                    "GPU",
                    null)),
            null));
    RouteRequest r = new RouteRequest("m", null, true, keys, prompt.length);
    // a saves 0.8 x 2048 = 1638 tokens, b saves 1920: b wins, and predicts its GPU hit.
    Decision d = p.pick(r, List.of(b("a"), b("b")));
    assertThat(d.backend().id()).isEqualTo("b");
    assertThat(d.predictedCachedTokens()).isEqualTo(1920);
    // Counting CPU blocks fully, a would win.
    KvAwarePolicy flat =
        new KvAwarePolicy(
            index, approx, e -> true, new CostWeights(256, 0.5, 1.0, 1.0), System::nanoTime);
    assertThat(flat.pick(r, List.of(b("a"), b("b"))).backend().id()).isEqualTo("a");
  }

  private static long[] hashes(int n) {
    long[] h = new long[n];
    for (int i = 0; i < n; i++) {
      h[i] = 7_000 + i;
    }
    return h;
  }
}
