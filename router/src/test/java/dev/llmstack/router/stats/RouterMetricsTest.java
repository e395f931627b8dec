package dev.llmstack.router.stats;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.router.backend.BackendRegistry;
import dev.llmstack.router.backend.BackendSnapshot;
import dev.llmstack.router.backend.EngineStats;
import dev.llmstack.router.backend.HealthState;
import dev.llmstack.router.backend.OutlierPolicy;
import dev.llmstack.router.discovery.Endpoint;
import dev.llmstack.router.routing.Decision;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RouterMetricsTest {

  static String text(RouterMetrics m) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    m.writeTo(out);
    return out.toString(StandardCharsets.UTF_8);
  }

  static void traffic(RouterMetrics m, String engine) {
    traffic(m, engine, "m");
  }

  static void traffic(RouterMetrics m, String engine, String model) {
    var s = m.series(engine, model);
    s.firstToken(2_000_000);
    s.interToken(500_000);
    s.finished(200, 9_000_000, 10, 5);
    m.failed(engine, "connect");
    m.retried(engine);
    m.cacheOutcome(engine, 32, 16);
    m.routed(
        "r",
        model,
        "kv",
        new Decision(
            new BackendSnapshot(engine, 0, 0, EngineStats.NONE, HealthState.HEALTHY, false),
            "hit=32/40,load=0"),
        false);
  }

  @Test
  void anEngineThatLeftTakesItsSeriesAlongWhileTotalsKeepGrowing() throws Exception {
    BackendRegistry registry = new BackendRegistry(OutlierPolicy.DEFAULT, b -> {}, b -> {});
    registry.add(Endpoint.parse("http://127.0.0.1:1"));
    RouterMetrics m = new RouterMetrics(registry);
    traffic(m, "http://127.0.0.1:1");
    traffic(m, "http://127.0.0.1:2");
    assertThat(text(m))
        .contains("llmstack_router_routing_decisions_total{engine=\"http://127.0.0.1:2\"")
        .contains(
            "llmstack_router_time_to_first_token_seconds_count{engine=\"http://127.0.0.1:2\"");
    RouterMetrics.Totals before = m.totals();
    assertThat(before.requests()).isEqualTo(2);
    assertThat(before.generationTokens()).isEqualTo(10);
    assertThat(before.ttft().counts()).containsOnly(0, 2);

    m.forget("http://127.0.0.1:2");
    String after = text(m);
    assertThat(after).doesNotContain("127.0.0.1:2").contains("127.0.0.1:1");
    // The dashboard's totals keep what was served: it turns their differences into rates, and a
    // total that fell when an engine left would show a negative rate.
    assertThat(m.totals().requests()).isEqualTo(2);
    // A new request to an engine that came back starts fresh series.
    traffic(m, "http://127.0.0.1:2");
    assertThat(text(m))
        .contains("llmstack_router_requests_total{code=\"200\",engine=\"http://127.0.0.1:2\"");
    assertThat(m.totals().requests()).isEqualTo(3);
  }

  @Test
  void aScrapeGrowsByUnderEightKiBPerEngineAndModel() throws Exception {
    // Guards "scraping stays cheap with many engines": every bucket bound is a line per engine
    // and model, so more bounds or more histograms show up here first.
    BackendRegistry registry = new BackendRegistry(OutlierPolicy.DEFAULT, b -> {}, b -> {});
    RouterMetrics m = new RouterMetrics(registry);
    int engines = 200;
    for (int i = 0; i < engines; i++) {
      String id = "http://10.0." + (i / 250) + "." + (i % 250) + ":8000";
      registry.add(Endpoint.parse(id));
      traffic(m, id, "meta-llama/Llama-3.1-8B-Instruct");
    }
    int bytes = text(m).getBytes(StandardCharsets.UTF_8).length;
    assertThat(bytes / engines).isBetween(4_000, 8_192);
  }

  @Test
  void reasonLabelsAreTheReasonsFirstWord() {
    assertThat(RouterMetrics.reasonKind("hit=480/497,load=0,cost=17")).isEqualTo("hit");
    assertThat(RouterMetrics.reasonKind("session-home")).isEqualTo("session-home");
    assertThat(RouterMetrics.reasonKind("=x")).isEqualTo("other");
  }
}
