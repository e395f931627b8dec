package dev.llmstack.router.stats;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EngineMonitorPhaseTest {

  @Test
  void enginesOnNeighbouringPortsAreSpreadOverTheInterval() {
    long interval = 1000;
    int[] tenths = new int[10];
    for (int port = 8000; port < 8100; port++) {
      long phase = EngineMonitor.phase("http://127.0.0.1:" + port, interval);
      assertThat(phase).isBetween(0L, interval - 1);
      tenths[(int) (phase * 10 / interval)]++;
    }
    // 100 engines watched at once: no tenth of the interval gets more than a quarter of them
    // (all of them, before phases), and none is left empty.
    for (int n : tenths) {
      assertThat(n).as("engines per tenth of the interval").isBetween(1, 25);
    }
  }

  @Test
  void anEngineKeepsItsPhase() {
    assertThat(EngineMonitor.phase("http://10.0.0.7:8000", 2000))
        .isEqualTo(EngineMonitor.phase("http://10.0.0.7:8000", 2000));
    assertThat(EngineMonitor.phase("any", 1)).isZero();
  }
}
