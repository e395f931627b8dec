package dev.llmstack.router.stats;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FleetTotalsTest {

  @Test
  void aValueGoesToTheFirstBoundAtOrAboveItAsInPrometheus() {
    FleetTotals.BucketCounts b = new FleetTotals.BucketCounts(new double[] {0.1, 1.0});
    b.observe(0.0);
    b.observe(0.1); // on the bound: that bucket (le="0.1")
    b.observe(0.5);
    b.observe(1.0);
    b.observe(7.0); // beyond the last bound: +Inf
    b.observe(Double.NaN);
    RouterMetrics.Buckets s = b.snapshot();
    assertThat(s.upperBounds()).containsExactly(0.1, 1.0, Double.POSITIVE_INFINITY);
    assertThat(s.counts()).containsExactly(2, 2, 2);
  }

  @Test
  void theSeriesFeedTheTotalsAsTheyFeedPrometheus() {
    RouterMetrics m =
        new RouterMetrics(
            new dev.llmstack.router.backend.BackendRegistry(
                dev.llmstack.router.backend.OutlierPolicy.DEFAULT, x -> {}, x -> {}));
    dev.llmstack.router.proxy.RouterObserver.Series a = m.series("http://127.0.0.1:1", "m");
    dev.llmstack.router.proxy.RouterObserver.Series b = m.series("http://127.0.0.1:2", "n");
    a.firstToken(30_000_000); // 0.03 s: le=0.05
    b.firstToken(30_000_000_000L); // 30 s: le=30
    a.interToken(5_000_000); // 0.005 s: le=0.005
    a.finished(200, 1, 12, 3);
    b.finished(503, 1, 0, 0);
    b.finished(404, 1, 0, 0);
    RouterMetrics.Totals t = m.totals();
    assertThat(t.requests()).isEqualTo(3);
    assertThat(t.errors()).isEqualTo(2);
    assertThat(t.promptTokens()).isEqualTo(12);
    assertThat(t.generationTokens()).isEqualTo(3);
    assertThat(t.ttft().counts()).containsExactly(0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
    assertThat(t.itl().counts()[0]).isEqualTo(1);
    assertThat(t.itl().counts()).hasSize(13);
  }
}
