package dev.llmstack.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class JvmPausesTest {

  private static final String COUNTERS =
      """
      sun.gc.collector.0.invocations=12
      sun.gc.collector.0.name="G1 young collection pauses"
      sun.gc.collector.0.time=36000000
      sun.gc.collector.1.invocations=1
      sun.gc.collector.1.name="G1 full collection pauses"
      sun.gc.collector.1.time=4000000
      sun.gc.collector.2.invocations=3
      sun.gc.collector.2.name="G1 concurrent cycle pauses"
      sun.gc.collector.2.time=500000
      sun.gc.collector.3.invocations=2
      sun.gc.collector.3.name="ZGC Major Cycles"
      sun.gc.collector.3.time=900000000
      sun.os.hrt.frequency=1000000000
      sun.rt.safepointSyncTime=194255
      sun.rt.safepointTime=45000000
      sun.rt.safepoints=20
      """;

  @Test
  void sumsPauseCollectorsOnlyAndConvertsTicksToMillis() {
    JvmPauses p = JvmPauses.parse(COUNTERS);
    // A concurrent collector's cycles run beside the application: not pauses, not counted.
    assertThat(p.gcPauses()).isEqualTo(16);
    assertThat(p.gcMillis()).isCloseTo(40.5, within(1e-9));
    assertThat(p.safepoints()).isEqualTo(20);
    assertThat(p.safepointMillis()).isCloseTo(45.0, within(1e-9));
  }

  @Test
  void ticksFollowTheCounterFrequency() {
    String micros =
        COUNTERS.replace("sun.os.hrt.frequency=1000000000", "sun.os.hrt.frequency=1000000");
    assertThat(JvmPauses.parse(micros).safepointMillis()).isCloseTo(45_000.0, within(1e-6));
  }

  @Test
  void missingCountersGiveNull() {
    assertThat(JvmPauses.parse("sun.rt.safepoints=3\n")).isNull();
    assertThat(JvmPauses.parse("")).isNull();
  }

  @Test
  void differenceBetweenTwoReads() {
    JvmPauses a = new JvmPauses(2, 1.5, 5, 2.0);
    JvmPauses b = new JvmPauses(7, 4.0, 11, 5.5);
    assertThat(b.minus(a)).isEqualTo(new JvmPauses(5, 2.5, 6, 3.5));
    assertThat(a.plus(b.minus(a))).isEqualTo(b);
  }

  @Test
  void readsALiveJvmWithJcmd() {
    String java = ProcessHandle.current().info().command().orElseThrow();
    long pid = ProcessHandle.current().pid();
    JvmPauses before = JvmPauses.of(pid, java);
    assertThat(before).as("jcmd beside " + java).isNotNull();
    System.gc(); // one collection and its safepoint, whatever the collector
    JvmPauses after = JvmPauses.of(pid, java);
    JvmPauses d = after.minus(before);
    assertThat(d.gcPauses()).isGreaterThanOrEqualTo(1);
    assertThat(d.safepoints()).isGreaterThanOrEqualTo(1);
    assertThat(d.safepointMillis()).isGreaterThan(0);
  }
}
