package dev.llmstack.router.kvindex;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.protocol.kvevents.KvEvent;
import dev.llmstack.protocol.prefix.BlockHasher;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class KvBlockIndexTest {

  static final int BS = 4;

  static int[] tokens(int from, int n) {
    return IntStream.range(from, from + n).toArray();
  }

  static KvEvent.Batch batch(KvEvent... events) {
    return new KvEvent.Batch(0, List.of(events), null);
  }

  /** Engine-side hashes are arbitrary: the index must not depend on them matching ours. */
  static KvEvent.BlockStored stored(long[] engineHashes, Long parent, int[] tokens, String medium) {
    return new KvEvent.BlockStored(engineHashes, parent, tokens, BS, null, medium, null);
  }

  @Test
  void sameTokensGiveTheRouterSameKeysWhateverTheEngineHashes() {
    KvBlockIndex index = new KvBlockIndex(BS);
    int[] prompt = tokens(100, 12); // 3 blocks
    index.apply("a", batch(stored(new long[] {901, 902}, null, tokens(100, 8), "GPU")));
    index.apply("a", batch(stored(new long[] {903}, 902L, tokens(108, 4), "GPU")));
    long[] keys = index.hasher().chain(prompt, prompt.length, 0, 0);
    assertThat(index.prefixDepth("a", keys, keys.length)).isEqualTo(3);
    // Different tokens, different keys.
    long[] other = index.hasher().chain(tokens(500, 12), 12, 0, 0);
    assertThat(index.prefixDepth("a", other, other.length)).isZero();
    // A different LoRA gives different keys.
    long[] lora = index.hasher().chain(prompt, 12, BlockHasher.stringKey("adapter"), 0);
    assertThat(index.prefixDepth("a", lora, lora.length)).isZero();
  }

  @Test
  void extraKeysFromEventsKeepSaltedAndAdapterBlocksApart() {
    KvBlockIndex index = new KvBlockIndex(BS);
    int[] prompt = tokens(100, 12);
    long lora = BlockHasher.stringKey("sql-lora");
    long salt = BlockHasher.stringKey("tenant-a");
    // Engine "a" cached the prompt for a salted request to the adapter, in two events; engine "b"
    // the same tokens for the base model without a salt.
    index.apply(
        "a",
        batch(
            new KvEvent.BlockStored(
                new long[] {1, 2},
                null,
                tokens(100, 8),
                BS,
                null,
                "GPU",
                "sql-lora",
                List.of(List.of("sql-lora", "tenant-a"), List.of("sql-lora")))));
    index.apply(
        "a",
        batch(
            new KvEvent.BlockStored(
                new long[] {3},
                2L,
                tokens(108, 4),
                BS,
                null,
                "GPU",
                "sql-lora",
                List.of(List.of("sql-lora")))));
    index.apply("b", batch(stored(new long[] {7, 8, 9}, null, prompt, "GPU")));
    long[] saltedLora = index.hasher().chain(prompt, 12, lora, salt);
    long[] plain = index.hasher().chain(prompt, 12, 0, 0);
    assertThat(index.prefixDepth("a", saltedLora, 3)).isEqualTo(3);
    assertThat(index.prefixDepth("a", plain, 3)).isZero();
    assertThat(index.prefixDepth("b", plain, 3)).isEqualTo(3);
    assertThat(index.prefixDepth("b", saltedLora, 3)).isZero();
    // Same adapter, other salt (or none): nothing shared.
    assertThat(index.prefixDepth("a", index.hasher().chain(prompt, 12, lora, 0), 3)).isZero();
    long[] otherSalt = index.hasher().chain(prompt, 12, lora, BlockHasher.stringKey("tenant-b"));
    assertThat(index.prefixDepth("a", otherSalt, 3)).isZero();
  }

  @Test
  void depthsPerEngineAndRemovalsShortenThem() {
    KvBlockIndex index = new KvBlockIndex(BS);
    index.apply("a", batch(stored(new long[] {1, 2, 3}, null, tokens(0, 12), "GPU")));
    index.apply("b", batch(stored(new long[] {7}, null, tokens(0, 4), "GPU")));
    long[] keys = index.hasher().chain(tokens(0, 16), 16, 0, 0);
    KvBlockIndex.Depths d = index.prefixDepths(keys, keys.length);
    assertThat(d.of("a")).isEqualTo(3);
    assertThat(d.of("b")).isEqualTo(1);
    assertThat(d.of("never-seen")).isZero();
    // The tail block is evicted on a (vLLM evicts chain tails first).
    index.apply("a", batch(new KvEvent.BlockRemoved(new long[] {3}, "GPU")));
    assertThat(index.prefixDepth("a", keys, keys.length)).isEqualTo(2);
    // A removal in the middle breaks the prefix there.
    index.apply("a", batch(new KvEvent.BlockRemoved(new long[] {1}, "GPU")));
    assertThat(index.prefixDepth("a", keys, keys.length)).isZero();
    assertThat(index.prefixDepths(keys, keys.length).of("b")).isEqualTo(1);
  }

  @Test
  void tiersAreTrackedAndABlockSurvivesLeavingOneTier() {
    KvBlockIndex index = new KvBlockIndex(BS);
    index.apply("a", batch(stored(new long[] {5}, null, tokens(0, 4), "GPU")));
    index.apply("a", batch(stored(new long[] {5}, null, tokens(0, 4), "CPU"))); // offloaded copy
    long[] keys = index.hasher().chain(tokens(0, 4), 4, 0, 0);
    assertThat(index.tiers("a", keys[0])).isEqualTo((byte) (KvBlockIndex.GPU | KvBlockIndex.CPU));
    index.apply("a", batch(new KvEvent.BlockRemoved(new long[] {5}, "GPU")));
    assertThat(index.tiers("a", keys[0])).isEqualTo(KvBlockIndex.CPU);
    assertThat(index.prefixDepth("a", keys, 1)).isEqualTo(1);
    index.apply("a", batch(new KvEvent.BlockRemoved(new long[] {5}, "CPU")));
    assertThat(index.prefixDepth("a", keys, 1)).isZero();
    assertThat(index.size()).isZero();
  }

  @Test
  void clearAndRestartDropOneEngineOnly() {
    KvBlockIndex index = new KvBlockIndex(BS);
    index.apply("a", batch(stored(new long[] {1}, null, tokens(0, 4), "GPU")));
    index.apply("b", batch(stored(new long[] {1}, null, tokens(0, 4), "GPU")));
    long[] keys = index.hasher().chain(tokens(0, 4), 4, 0, 0);
    index.apply("a", batch(new KvEvent.AllBlocksCleared()));
    assertThat(index.prefixDepth("a", keys, 1)).isZero();
    assertThat(index.prefixDepth("b", keys, 1)).isEqualTo(1);
    index.clear("b");
    assertThat(index.size()).isZero();
  }

  @Test
  void aChainWhoseParentWasMissedIsNotPlaced() {
    KvBlockIndex index = new KvBlockIndex(BS);
    index.apply("a", batch(stored(new long[] {2}, 1L, tokens(4, 4), "GPU")));
    assertThat(index.size("a")).isZero();
    assertThat(index.unknownParents()).isEqualTo(1);
  }

  @Test
  void blocksSharedByEnginesStayCorrectAsHoldersComeAndGo() {
    KvBlockIndex index = new KvBlockIndex(BS);
    long[] keys = index.hasher().chain(tokens(0, 16), 16, 0, 0);
    index.apply("a", batch(stored(new long[] {1, 2, 3, 4}, null, tokens(0, 16), "GPU")));
    index.apply("b", batch(stored(new long[] {11, 12, 13, 14}, null, tokens(0, 16), "GPU")));
    index.apply("c", batch(stored(new long[] {21, 22}, null, tokens(0, 8), "GPU")));
    assertThat(index.size()).isEqualTo(4);
    KvBlockIndex.Depths d = index.prefixDepths(keys, keys.length);
    assertThat(d.of("a")).isEqualTo(4);
    assertThat(d.of("b")).isEqualTo(4);
    assertThat(d.of("c")).isEqualTo(2);
    // b loses its third block: shared by a alone again there.
    index.apply("b", batch(new KvEvent.BlockRemoved(new long[] {13}, "GPU")));
    d = index.prefixDepths(keys, keys.length);
    assertThat(d.of("a")).isEqualTo(4);
    assertThat(d.of("b")).isEqualTo(2);
    // a and c lose the first block: only b holds the chain's head.
    index.apply("a", batch(new KvEvent.BlockRemoved(new long[] {1}, "GPU")));
    index.apply("c", batch(new KvEvent.BlockRemoved(new long[] {21}, "GPU")));
    d = index.prefixDepths(keys, keys.length);
    assertThat(d.of("a")).isZero();
    assertThat(d.of("b")).isEqualTo(2);
    assertThat(d.of("c")).isZero();
    // b leaves: the blocks only a still holds remain, the head is gone.
    index.clear("b");
    assertThat(index.prefixDepths(keys, keys.length).of("a")).isZero();
    assertThat(index.prefixDepth("a", keys, keys.length)).isZero();
    assertThat(index.size()).isEqualTo(3); // blocks 2-4 on a (2 also on c)
  }

  @Test
  void knowsWhetherAnEngineHoldsBlocksOnlyOutsideGpuMemory() {
    KvBlockIndex index = new KvBlockIndex(BS);
    index.apply("a", batch(stored(new long[] {1, 2}, null, tokens(0, 8), "GPU")));
    assertThat(index.allInGpu("a")).isTrue();
    index.apply("a", batch(stored(new long[] {1, 2}, null, tokens(0, 8), "CPU")));
    assertThat(index.allInGpu("a")).isTrue(); // in both tiers
    index.apply("a", batch(new KvEvent.BlockRemoved(new long[] {2}, "GPU")));
    assertThat(index.allInGpu("a")).isFalse(); // block 2 only in CPU memory now
    index.apply("a", batch(new KvEvent.BlockRemoved(new long[] {2}, "CPU")));
    assertThat(index.allInGpu("a")).isTrue();
    index.apply("a", batch(new KvEvent.BlockRemoved(new long[] {1}, "GPU")));
    assertThat(index.allInGpu("a")).isFalse();
    index.clear("a");
    assertThat(index.allInGpu("a")).isTrue();
  }
}
