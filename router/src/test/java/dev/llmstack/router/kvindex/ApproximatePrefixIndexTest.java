package dev.llmstack.router.kvindex;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ApproximatePrefixIndexTest {

  static final long S = 1_000_000_000L;

  @Test
  void remembersWhatWasRoutedUpToCapacityAndTtl() {
    ApproximatePrefixIndex idx = new ApproximatePrefixIndex(4, 60 * S);
    long[] a = {1, 2, 3};
    idx.record("e1", a, 3, 0);
    assertThat(idx.prefixDepth("e1", a, 3, S)).isEqualTo(3);
    assertThat(idx.prefixDepth("e2", a, 3, S)).isZero();
    assertThat(idx.prefixDepth("e1", new long[] {1, 9, 3}, 3, S)).isEqualTo(1);
    // Capacity 4: recording 2 more evicts the least recently routed (1, then 2).
    idx.record("e1", new long[] {7, 8}, 2, 2 * S);
    assertThat(idx.size("e1")).isEqualTo(4);
    assertThat(idx.prefixDepth("e1", a, 3, 3 * S)).isZero();
    // TTL: entries older than 60 s no longer count.
    assertThat(idx.prefixDepth("e1", new long[] {7, 8}, 2, 3 * S)).isEqualTo(2);
    assertThat(idx.prefixDepth("e1", new long[] {7, 8}, 2, 63 * S)).isZero();
    idx.capacity("e1", 1);
    idx.record("e1", new long[] {5}, 1, 64 * S);
    assertThat(idx.size("e1")).isEqualTo(1);
    idx.remove("e1");
    assertThat(idx.size("e1")).isZero();
  }
}
