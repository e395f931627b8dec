package dev.llmstack.router.ui;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmstack.router.backend.BackendRegistry;
import dev.llmstack.router.backend.OutlierPolicy;
import dev.llmstack.router.stats.RouterMetrics;
import dev.llmstack.router.threads.BackgroundThreads;
import org.junit.jupiter.api.Test;

class DashboardStateTest {

  static final double[] BOUNDS = {0.1, 0.2, 0.4, Double.POSITIVE_INFINITY};

  static RouterMetrics.Buckets buckets(long... perBucket) {
    return new RouterMetrics.Buckets(BOUNDS, perBucket);
  }

  @Test
  void quantilesInterpolateWithinTheBucketOfTheWindowsDifference() {
    RouterMetrics.Buckets before = buckets(100, 0, 0, 0); // old observations, all fast
    RouterMetrics.Buckets now =
        buckets(100, 10, 10, 0); // in the window: 10 in (0.1,0.2], 10 in (0.2,0.4]
    assertThat(DashboardState.quantile(0.5, now, before)).isCloseTo(0.2, within(1e-9));
    assertThat(DashboardState.quantile(0.25, now, before)).isCloseTo(0.15, within(1e-9));
    assertThat(DashboardState.quantile(0.95, now, before)).isCloseTo(0.38, within(1e-9));
  }

  @Test
  void nothingObservedIsNaNAndTheInfBucketReportsTheHighestFiniteBound() {
    RouterMetrics.Buckets same = buckets(5, 5, 5, 5);
    assertThat(DashboardState.quantile(0.5, same, same)).isNaN();
    assertThat(DashboardState.quantile(0.99, buckets(0, 0, 0, 3), buckets(0, 0, 0, 0)))
        .isEqualTo(0.4);
  }

  @Test
  void samplesTakenWhileNobodyWatchedAreAllInTheFirstLookAndEachLaterTickRendersAgain()
      throws Exception {
    BackendRegistry registry = new BackendRegistry(OutlierPolicy.DEFAULT, b -> {}, b -> {});
    DashboardState state =
        new DashboardState(
            registry,
            new RouterMetrics(registry),
            new DecisionLog(8),
            1000,
            BackgroundThreads.NORMAL);
    ObjectMapper json = new ObjectMapper();
    for (int i = 0; i < 4; i++) {
      state.sample(); // the first has no previous totals, so it adds no point
    }
    JsonNode first = json.readTree(state.json());
    assertThat(first.path("series").path("t")).hasSize(3);
    assertThat(state.json()).isSameAs(state.json()); // rendered once per tick, not per look
    state.sample(); // someone looked: the sampler renders this tick itself
    JsonNode next = json.readTree(state.json());
    assertThat(next.path("series").path("t")).hasSize(4);
  }

  @Test
  void theSamplerRunsBelowTheEventLoopsPriority() {
    BackendRegistry registry = new BackendRegistry(OutlierPolicy.DEFAULT, b -> {}, b -> {});
    try (DashboardState state =
        new DashboardState(
            registry,
            new RouterMetrics(registry),
            new DecisionLog(8),
            60_000,
            BackgroundThreads.NORMAL)) {
      state.start(); // schedules its ticks, which starts the sampler thread
      // with -XX:ThreadPriorityPolicy=1 (the launcher's), Java's minimum is nice 10
      assertThat(
              Thread.getAllStackTraces().keySet().stream()
                  .filter(t -> t.getName().startsWith("dashboard-sampler-"))
                  .map(Thread::getPriority))
          .isNotEmpty()
          .containsOnly(Thread.MIN_PRIORITY);
    }
  }
}
