package dev.llmstack.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class StealTimeTest {

  private static final String STAT =
      """
      cpu  6232183 26255 1736695 6044327 12376 0 893727 2862 0 0
      cpu0 3509939 14449 960740 2510582 1036 0 521206 1294 0 0
      cpu1 2722243 11806 775955 3533745 11340 0 372521 1568 0 0
      intr 1 2 3
      """;

  @Test
  void readsTheStealColumnOfOneCoreOrAll() {
    assertThat(StealTime.millis(STAT, 1)).isEqualTo(15_680);
    assertThat(StealTime.millis(STAT, 0)).isEqualTo(12_940);
    assertThat(StealTime.millis(STAT, -1)).isEqualTo(28_620);
    assertThat(StealTime.millis(STAT, 7)).isEqualTo(-1);
  }

  @Test
  void aWindowOnLinuxReadsTheMachinesCounters() throws Exception {
    assumeTrue(Files.isReadable(Path.of("/proc/stat")));
    // A 50 ms window: known (not -1), and at most a few 10 ms ticks.
    assertThat(StealTime.window(-1, 0, 50).get()).isBetween(0L, 200L);
  }
}
