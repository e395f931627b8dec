package dev.llmstack.bench.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.llmstack.bench.runner.RecordSink;
import dev.llmstack.bench.runner.RequestRecord;
import dev.llmstack.bench.runner.RunResult;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RunSummaryTest {

  private static final long S = 1_000_000_000L;

  /** Request sent as intended at {@code t0}; first token at ttft; then tokens every itl. */
  private static RequestRecord timeline(
      String id, String engine, double t0, double lag, double ttft, int tokens, double itl) {
    long intended = (long) (t0 * S);
    long first = (long) ((t0 + ttft) * S);
    long end = first + (long) ((tokens - 1) * itl * S);
    return new RequestRecord(
        id,
        null,
        engine,
        intended,
        intended + (long) (lag * S),
        first,
        end,
        1000,
        tokens,
        250,
        null,
        null);
  }

  @Test
  void figuresFollowVllmBenchServeDefinitions() {
    RecordSink sink = new RecordSink();
    // Four requests: TTFT 0.1, 0.2, 0.3, 0.4 s; 11 tokens each at 10, 20, 30, 40 ms gaps.
    for (int i = 1; i <= 4; i++) {
      RequestRecord r = timeline("r" + i, i <= 2 ? "a" : "b", i, 0, 0.1 * i, 11, 0.01 * i);
      sink.add(r);
      for (int k = 0; k < 10; k++) {
        sink.gap((long) (0.01 * i * S));
      }
    }
    sink.add(
        new RequestRecord("bad", null, "a", 0, 0, -1, S, 0, 0, -1, "HTTP 503: no engine", null));
    RunResult run = new RunResult("x", sink.records(), sink.itl(), 10 * S, Map.of());
    Map<String, Object> m = RunSummary.of(run, new Slo(0.25, 0, 0));
    assertThat(m.get("requests")).isEqualTo(5);
    assertThat(m.get("completed")).isEqualTo(4);
    assertThat(m.get("errors")).isEqualTo(1);
    assertThat((double) m.get("ttft_mean_s")).isCloseTo(0.25, within(1e-9));
    // numpy's linear percentile over [0.1, 0.2, 0.3, 0.4]: p50 = 0.25, p90 = 0.37, p99 = 0.397.
    assertThat((double) m.get("ttft_p50_s")).isCloseTo(0.25, within(1e-9));
    assertThat((double) m.get("ttft_p90_s")).isCloseTo(0.37, within(1e-9));
    assertThat((double) m.get("ttft_p99_s")).isCloseTo(0.397, within(1e-9));
    // TPOT per request = gap; mean of 10..40 ms.
    assertThat((double) m.get("tpot_mean_s")).isCloseTo(0.025, within(1e-6));
    // ITL over all 40 gaps: median between 20 and 30 ms -> HdrHistogram gives one of them.
    assertThat((double) m.get("itl_p50_s")).isBetween(0.0199, 0.0301);
    assertThat((double) m.get("itl_p99_s")).isCloseTo(0.04, within(1e-4));
    // E2E = TTFT + 10 gaps.
    assertThat((double) m.get("e2e_p50_s")).isCloseTo(0.25 + 0.25, within(1e-6));
    assertThat((double) m.get("duration_s")).isEqualTo(10.0);
    assertThat((double) m.get("request_throughput")).isCloseTo(0.4, within(1e-9));
    assertThat((double) m.get("output_tokens_per_s")).isCloseTo(4.4, within(1e-9));
    assertThat((double) m.get("cached_token_ratio")).isCloseTo(0.25, within(1e-9));
    // Goodput with TTFT <= 0.25 s: two requests in 10 s.
    assertThat((double) m.get("goodput_rps")).isCloseTo(0.2, within(1e-9));
    @SuppressWarnings("unchecked")
    Map<String, Map<String, Object>> per = (Map<String, Map<String, Object>>) m.get("per_engine");
    assertThat(per).containsOnlyKeys("a", "b");
    assertThat(per.get("a").get("requests")).isEqualTo(2L);
    assertThat(m.get("error_kinds")).isEqualTo(Map.of("HTTP 503", 1));
  }

  @Test
  void latencyCountsFromTheIntendedSendTime() {
    RecordSink sink = new RecordSink();
    // The client sent 2 s late; the server answered in 0.1 s: TTFT is 2.1 s, not 0.1 s.
    RequestRecord late =
        new RequestRecord("r", null, "a", 0, 2 * S, 2 * S + S / 10, 3 * S, 10, 2, 0, null, null);
    sink.add(late);
    Map<String, Object> m =
        RunSummary.of(new RunResult("x", sink.records(), sink.itl(), 3 * S, Map.of()), Slo.NONE);
    assertThat((double) m.get("ttft_p50_s")).isCloseTo(2.1, within(1e-9));
    assertThat((double) m.get("max_send_lag_s")).isCloseTo(2.0, within(1e-9));
    assertThat(m).doesNotContainKey("goodput_rps");
  }

  @Test
  void percentilesMatchNumpy() {
    Percentiles p = new Percentiles(new double[] {5, 1, 3, 2, 4});
    assertThat(p.at(50)).isEqualTo(3);
    assertThat(p.at(90)).isCloseTo(4.6, within(1e-12));
    assertThat(p.at(0)).isEqualTo(1);
    assertThat(p.at(100)).isEqualTo(5);
    assertThat(new Percentiles(new double[0]).at(50)).isZero();
  }
}
