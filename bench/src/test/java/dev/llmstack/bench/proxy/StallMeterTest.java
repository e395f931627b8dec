package dev.llmstack.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class StallMeterTest {

  @Test
  void countsEachGapUnderEveryThresholdItExceeds() {
    long[] over = new long[StallMeter.THRESHOLDS_MICROS.length];
    long[] maxAndLost = new long[2];
    StallMeter.Stalls.add(20_000, over, maxAndLost); // 20 µs: the loop itself, not a stall
    StallMeter.Stalls.add(700_000, over, maxAndLost); // 0.7 ms
    StallMeter.Stalls.add(12_000_000, over, maxAndLost); // 12 ms
    // thresholds 100 µs, 500 µs, 1, 2, 5, 10 ms
    assertThat(over).containsExactly(2, 2, 1, 1, 1, 1);
    assertThat(maxAndLost[0]).isEqualTo(12_000);
    assertThat(maxAndLost[1]).isEqualTo(12_700);
  }

  @Test
  void aShortRunReportsValidJsonWithItsLength() throws Exception {
    StallMeter.Stalls stalls = StallMeter.measure(50);
    JsonNode json = new ObjectMapper().readTree(stalls.toJson());
    assertThat(json.path("millis").asLong()).isEqualTo(50);
    assertThat(json.path("over_1000us").isIntegralNumber()).isTrue();
    assertThat(json.path("lost_ms").asDouble()).isBetween(0.0, 50.0 + 1);
    assertThat(json.path("max_ms").asDouble()).isLessThanOrEqualTo(json.path("lost_ms").asDouble());
  }
}
