package dev.llmstack.protocol.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The bucket bounds are vLLM V1's (vllm/v1/metrics/loggers.py), written out here once more. */
class VllmMetricNamesTest {

  @Test
  void bucketsAreVllms() {
    assertThat(VllmMetricNames.ttftBuckets())
        .containsExactly(
            0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
            10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0);
    assertThat(VllmMetricNames.interTokenBuckets())
        .containsExactly(
            0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
            20.0, 40.0, 80.0);
    assertThat(VllmMetricNames.requestLatencyBuckets())
        .containsExactly(
            0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0,
            240.0, 480.0, 960.0, 1920.0, 7680.0);
    assertThat(VllmMetricNames.iterationTokenBuckets())
        .containsExactly(1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384);
  }

  @Test
  void bucketArraysAreCopies() {
    VllmMetricNames.ttftBuckets()[0] = 99;
    assertThat(VllmMetricNames.ttftBuckets()[0]).isEqualTo(0.001);
  }

  @Test
  void oneTwoFiveBucketsStopAtTheMaximumInclusive() {
    // vLLM's docstring example: build_1_2_5_buckets(100) == [1, 2, 5, 10, 20, 50, 100].
    assertThat(VllmMetricNames.oneTwoFiveBuckets(100)).containsExactly(1, 2, 5, 10, 20, 50, 100);
    assertThat(VllmMetricNames.oneTwoFiveBuckets(131072))
        .endsWith(20000, 50000, 100000)
        .hasSize(16);
    assertThat(VllmMetricNames.oneTwoFiveBuckets(1)).containsExactly(1);
    assertThat(VllmMetricNames.oneTwoFiveBuckets(0)).isEmpty();
    assertThat(VllmMetricNames.oneTwoFiveBuckets(Long.MAX_VALUE)).hasSize(57).endsWith(5e18);
  }
}
