package dev.llmstack.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.BitSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CoreNeighboursTest {

  @Test
  void parsesLinuxCpuLists() {
    assertThat(CoreNeighbours.parseList("0-1\n")).isEqualTo(bits(0, 1));
    assertThat(CoreNeighbours.parseList("1")).isEqualTo(bits(1));
    assertThat(CoreNeighbours.parseList("0-2,5,7-8")).isEqualTo(bits(0, 1, 2, 5, 7, 8));
  }

  @Test
  void onlyTasksThatMayAlsoRunElsewhereShareTheCore() {
    assertThat(CoreNeighbours.shares(bits(0, 1), 1)).isTrue();
    assertThat(CoreNeighbours.shares(bits(1), 1)).as("per-core kernel thread, or pinned").isFalse();
    assertThat(CoreNeighbours.shares(bits(0), 1)).isFalse();
  }

  @Test
  void countsThisMachinesNeighboursOfCoreZero() {
    // This test's own JVM may run on core 0 unless pinned elsewhere; excluded, the count is a
    // plain read of /proc that must not fail on Linux.
    CoreNeighbours.Count count = CoreNeighbours.of(0, Set.of(ProcessHandle.current().pid()));
    assertThat(count.tasks()).isGreaterThanOrEqualTo(0);
    assertThat(count.interrupts()).isGreaterThanOrEqualTo(0);
    assertThat(CoreNeighbours.onlineCores()).isGreaterThanOrEqualTo(1);
  }

  private static BitSet bits(int... cores) {
    BitSet b = new BitSet();
    for (int c : cores) {
      b.set(c);
    }
    return b;
  }
}
