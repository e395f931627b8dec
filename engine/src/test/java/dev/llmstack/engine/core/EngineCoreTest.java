package dev.llmstack.engine.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.engine.driver.VirtualTimeDriver;
import dev.llmstack.engine.perf.PerformanceModel;
import dev.llmstack.protocol.kvevents.KvEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class EngineCoreTest {

  /** 1 ms per step plus 10 us per token: enough to order events. */
  private static final PerformanceModel PERF = s -> 1_000_000 + 10_000 * s.totalTokens();

  private final List<KvEvent> events = new ArrayList<>();
  private int preemptions;

  private EngineCore core(int blocks, int maxSeqs, int budget) {
    EngineConfig cfg = new EngineConfig(blocks, 16, maxSeqs, budget, blocks * 16, true, 0.0, true);
    return new EngineCore(
        cfg,
        PERF,
        new TestVocabulary(),
        new EngineObserver() {
          @Override
          public void onKvEvents(List<KvEvent> batch, long nanos) {
            events.addAll(batch);
          }

          @Override
          public void onPreemption() {
            preemptions++;
          }
        });
  }

  private static int[] prompt(int start, int len) {
    return IntStream.range(start, start + len).toArray();
  }

  private static Sequence seq(String id, int[] prompt, int maxTokens) {
    return new Sequence(
        id,
        prompt,
        new SamplingSpec(maxTokens, 0, true, 7L, null),
        null,
        null,
        0,
        SequenceListener.NONE);
  }

  @Test
  void generatesExactlyMaxTokensAndFreesEveryBlock() {
    EngineCore core = core(100, 8, 512);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    Sequence a = seq("a", prompt(0, 100), 20);
    e.submit(a);
    driver.run();
    assertThat(a.status()).isEqualTo(Sequence.Status.FINISHED);
    assertThat(a.finishReason()).isEqualTo(FinishReason.LENGTH);
    assertThat(a.numOutputTokens()).isEqualTo(20);
    assertThat(core.kvCache().numFreeBlocks()).isEqualTo(100);
    assertThat(a.numCachedTokens()).isZero();
  }

  @Test
  void repeatedPrefixHitsTheCacheInWholeBlocks() {
    EngineCore core = core(100, 8, 512);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    Sequence a = seq("a", prompt(0, 100), 4);
    e.submit(a);
    driver.run();
    int[] longer = IntStream.concat(IntStream.range(0, 100), IntStream.range(500, 520)).toArray();
    Sequence b = seq("b", longer, 4);
    e.submit(b);
    driver.run();
    // 100 prompt tokens = 6 full blocks cached.
    assertThat(b.numCachedTokens()).isEqualTo(96);
    Sequence fresh = seq("c", prompt(9000, 100), 4);
    e.submit(fresh);
    driver.run();
    assertThat(fresh.numCachedTokens()).isZero();
  }

  @Test
  void fullHitStillRecomputesTheLastToken() {
    EngineCore core = core(100, 8, 512);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    e.submit(seq("a", prompt(0, 64), 1));
    driver.run();
    Sequence b = seq("b", prompt(0, 64), 1);
    e.submit(b);
    driver.run();
    // 64 tokens = 4 blocks, but the hit is capped at 63 tokens, so 3 whole blocks.
    assertThat(b.numCachedTokens()).isEqualTo(48);
  }

  @Test
  void evictsLeastRecentlyUsedFirstUnderPressure() {
    // 20 blocks: each request of 64 tokens and 1 output token takes and caches 4 blocks.
    EngineCore core = core(20, 8, 512);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    for (int i = 0; i < 4; i++) {
      e.submit(seq("p" + i, prompt(i * 1000, 64), 1));
      driver.run();
    }
    // Touch p0 again so p1 becomes the oldest.
    Sequence again = seq("p0b", prompt(0, 64), 1);
    e.submit(again);
    driver.run();
    assertThat(again.numCachedTokens()).isEqualTo(48);
    // A new request needs 8 blocks: after the 4 never-used ones, the LRU cached blocks (p1) go.
    e.submit(seq("p4", prompt(4000, 128), 1));
    driver.run();
    Sequence p1 = seq("p1b", prompt(1000, 64), 1);
    Sequence p0 = seq("p0c", prompt(0, 64), 1);
    e.submit(p0);
    driver.run();
    e.submit(p1);
    driver.run();
    assertThat(p0.numCachedTokens()).isEqualTo(48);
    assertThat(p1.numCachedTokens()).isLessThan(48);
    assertThat(events).anyMatch(ev -> ev instanceof KvEvent.BlockRemoved);
    assertThat(core.kvCache().numFreeBlocks()).isEqualTo(20);
  }

  @Test
  void preemptsByRecomputeWhenBlocksRunOutAndStillFinishesEveryone() {
    // 12 blocks = 192 token slots; three sequences that grow to 80 tokens each need 15 blocks.
    EngineCore core = core(12, 8, 512);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    List<Sequence> seqs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Sequence s = seq("s" + i, prompt(i * 1000, 40), 40);
      seqs.add(s);
      e.submit(s);
    }
    driver.run();
    assertThat(preemptions).isPositive();
    assertThat(seqs)
        .allSatisfy(
            s -> {
              assertThat(s.finishReason()).isEqualTo(FinishReason.LENGTH);
              assertThat(s.numOutputTokens()).isEqualTo(40);
            });
    assertThat(core.kvCache().numFreeBlocks()).isEqualTo(12);
  }

  @Test
  void chunkedPrefillSplitsALongPromptOverSteps() {
    EngineCore core = core(200, 8, 256);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    Sequence s = seq("long", prompt(0, 1000), 2);
    e.submit(s);
    driver.run();
    // 1000 prompt tokens at 256 per step = 4 prefill steps, then 1 decode step.
    assertThat(driver.steps()).isEqualTo(5);
    assertThat(s.numOutputTokens()).isEqualTo(2);
  }

  @Test
  void abortFreesBlocksAtOnce() {
    EngineCore core = core(100, 8, 512);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    Sequence s = seq("x", prompt(0, 100), 1000);
    e.submit(s);
    driver.runUntil(5_000_000);
    assertThat(core.kvCache().numFreeBlocks()).isLessThan(100);
    e.abort(s);
    assertThat(s.finishReason()).isEqualTo(FinishReason.ABORT);
    assertThat(core.kvCache().numFreeBlocks()).isEqualTo(100);
  }

  @Test
  void sameSeedGivesSameTokensAndEosEndsEarly() {
    EngineConfig cfg = new EngineConfig(100, 16, 8, 512, 1600, true, 0.2, false);
    List<List<Integer>> outs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      EngineCore core = new EngineCore(cfg, PERF, new TestVocabulary(), EngineObserver.NONE);
      VirtualTimeDriver driver = new VirtualTimeDriver();
      List<Integer> tokens = new ArrayList<>();
      Sequence s =
          new Sequence(
              "r" + run,
              prompt(0, 20),
              new SamplingSpec(200, 0, false, 42L, null),
              null,
              null,
              0,
              new SequenceListener() {
                @Override
                public void onToken(Sequence q, int id, String text, long n) {
                  tokens.add(id);
                }

                @Override
                public void onFinish(Sequence q, FinishReason r, long n) {}
              });
      driver.addEngine(core).submit(s);
      driver.run();
      assertThat(s.finishReason()).isEqualTo(FinishReason.STOP);
      assertThat(s.numOutputTokens()).isLessThan(200);
      outs.add(tokens);
    }
    assertThat(outs.get(0)).isEqualTo(outs.get(1));
  }

  @Test
  void saltSeparatesCaches() {
    EngineCore core = core(100, 8, 512);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    e.submit(seq("a", prompt(0, 100), 1));
    driver.run();
    Sequence salted =
        new Sequence(
            "b",
            prompt(0, 100),
            new SamplingSpec(1, 0, true, 1L, null),
            null,
            "tenant-1",
            0,
            SequenceListener.NONE);
    e.submit(salted);
    driver.run();
    assertThat(salted.numCachedTokens()).isZero();
  }

  @Test
  void kvEventsChainBlocksAndReportRemovals() {
    EngineCore core = core(100, 8, 512);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    e.submit(seq("a", prompt(0, 64), 1));
    driver.run();
    KvEvent.BlockStored stored = (KvEvent.BlockStored) events.get(0);
    assertThat(stored.parentBlockHash()).isNull();
    assertThat(stored.blockHashes()).hasSize(4);
    assertThat(stored.tokenIds()).hasSize(64);
    assertThat(stored.blockSize()).isEqualTo(16);
    assertThat(core.resetPrefixCache(driver.now())).isTrue();
    assertThat(events.get(events.size() - 1)).isInstanceOf(KvEvent.AllBlocksCleared.class);
  }

  private static Sequence loraSeq(String id, int[] prompt, String lora, String salt) {
    return new Sequence(
        id, prompt, new SamplingSpec(4, 0, true, 7L, null), lora, salt, 0, SequenceListener.NONE);
  }

  @Test
  void kvEventsCarryTheLoraNameAndPerBlockExtraKeys() {
    EngineCore core = core(100, 8, 512);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    e.submit(loraSeq("a", prompt(0, 48), "sql-lora", "tenant-1"));
    driver.run();
    KvEvent.BlockStored stored = (KvEvent.BlockStored) events.get(0);
    assertThat(stored.loraName()).isEqualTo("sql-lora");
    // vLLM's order: LoRA name, then the salt on the request's first block only.
    assertThat(stored.extraKeys())
        .containsExactly(List.of("sql-lora", "tenant-1"), List.of("sql-lora"), List.of("sql-lora"));
    events.clear();
    e.submit(seq("b", prompt(1000, 48), 1));
    driver.run();
    KvEvent.BlockStored plain = (KvEvent.BlockStored) events.get(0);
    assertThat(plain.loraName()).isNull();
    assertThat(plain.extraKeys()).isNull(); // nothing extra: the field is left out, as before
  }

  @Test
  void adaptersDoNotShareCachedBlocksWithTheBaseModel() {
    EngineCore core = core(100, 8, 512);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    e.submit(seq("base", prompt(0, 100), 1));
    driver.run();
    Sequence lora = loraSeq("lora", prompt(0, 100), "sql-lora", null);
    e.submit(lora);
    driver.run();
    assertThat(lora.numCachedTokens()).isZero();
    Sequence again = loraSeq("again", prompt(0, 100), "sql-lora", null);
    e.submit(again);
    driver.run();
    assertThat(again.numCachedTokens()).isEqualTo(96);
  }

  @Test
  void aBatchUsesAtMostMaxLorasAdapters() {
    EngineConfig cfg = new EngineConfig(200, 16, 8, 4096, 200 * 16, true, 0.0, false, 0, 0, 1);
    EngineCore core = new EngineCore(cfg, PERF, new TestVocabulary(), EngineObserver.NONE);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    Sequence a1 = loraSeq("a1", prompt(0, 32), "lora-a", null);
    Sequence b1 = loraSeq("b1", prompt(100, 32), "lora-b", null);
    Sequence a2 = loraSeq("a2", prompt(200, 32), "lora-a", null);
    Sequence base = seq("base", prompt(300, 32), 4);
    for (Sequence s : List.of(a1, b1, a2, base)) {
      e.submit(s);
    }
    driver.run();
    // a1 starts alone (the engine steps as soon as it arrives). With max_loras=1, lora-b's request
    // then waits while lora-a's run, and a2 and the base model's request go ahead of it.
    assertThat(a2.firstScheduledNanos()).isEqualTo(base.firstScheduledNanos());
    assertThat(b1.firstScheduledNanos())
        .isGreaterThan(a2.firstScheduledNanos())
        .isGreaterThanOrEqualTo(a1.finishNanos())
        .isGreaterThanOrEqualTo(a2.finishNanos());
    assertThat(b1.status()).isEqualTo(Sequence.Status.FINISHED);
  }

  /**
   * Runs {@code p} (160 tokens, 10 full blocks) once, then three other prompts that overflow a
   * 24-block GPU cache and evict {@code p}'s blocks from GPU memory.
   */
  private static void cacheThenEvict(
      VirtualTimeDriver.Engine e, VirtualTimeDriver driver, int[] p) {
    e.submit(seq("a", p, 2));
    driver.run();
    for (int k = 1; k <= 3; k++) {
      e.submit(seq("filler-" + k, prompt(1000 * k, 160), 2));
      driver.run();
    }
  }

  /** Blocks the GPU evicted come back from the CPU offload tier: loaded, not recomputed. */
  @Test
  void offloadedBlocksAreLoadedBackInsteadOfRecomputed() {
    EngineConfig cfg = new EngineConfig(24, 16, 8, 512, 24 * 16, true, 0.0, true, 100, 50_000, 0);
    List<KvEvent> seen = new java.util.ArrayList<>();
    EngineCore core =
        new EngineCore(
            cfg,
            PERF,
            new TestVocabulary(),
            new EngineObserver() {
              @Override
              public void onKvEvents(List<KvEvent> batch, long nanos) {
                seen.addAll(batch);
              }
            });
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    int[] p1 = prompt(0, 160);
    cacheThenEvict(e, driver, p1);
    assertThat(core.kvCache().numOffloadedBlocks()).isEqualTo(40);
    long t0 = driver.now();
    Sequence again = seq("a2", p1, 1);
    e.submit(again);
    driver.run();
    // 9 full blocks (144 tokens; the last token is always recomputed) come from CPU memory.
    assertThat(again.numCachedTokens()).isEqualTo(144);
    // The step costs the 16 computed tokens plus loading 144 tokens at 50 us each.
    long expected = 1_000_000 + 10_000 * 16 + 144 * 50_000;
    assertThat(again.firstTokenNanos() - t0).isEqualTo(expected);
    // The events say where blocks are: stored in CPU memory, later removed from GPU memory.
    assertThat(seen)
        .anySatisfy(
            ev -> {
              assertThat(ev).isInstanceOf(KvEvent.BlockStored.class);
              assertThat(((KvEvent.BlockStored) ev).medium()).isEqualTo("CPU");
            });
    assertThat(seen)
        .anySatisfy(
            ev -> {
              assertThat(ev).isInstanceOf(KvEvent.BlockRemoved.class);
              assertThat(((KvEvent.BlockRemoved) ev).medium()).isEqualTo("GPU");
            });
  }

  @Test
  void withoutAnOffloadTierEvictedBlocksAreRecomputed() {
    EngineCore core = core(24, 8, 512);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    VirtualTimeDriver.Engine e = driver.addEngine(core);
    int[] p1 = prompt(0, 160);
    cacheThenEvict(e, driver, p1);
    Sequence again = seq("a2", p1, 1);
    e.submit(again);
    driver.run();
    assertThat(again.numCachedTokens()).isZero();
  }
}
