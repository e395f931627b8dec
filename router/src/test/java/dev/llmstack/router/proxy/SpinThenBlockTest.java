package dev.llmstack.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.SelectStrategy;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SpinThenBlockTest {

  @Test
  void whatIsReadyNowIsHandledAtOnce() throws Exception {
    int[] polls = {0};
    int ready =
        new SpinThenBlock(TimeUnit.SECONDS.toNanos(10))
            .calculateStrategy(
                () -> {
                  polls[0]++;
                  return 3;
                },
                false);
    assertThat(ready).isEqualTo(3);
    assertThat(polls[0]).isEqualTo(1);
  }

  @Test
  void queuedTasksAreNotKeptWaitingBySpinning() throws Exception {
    long t0 = System.nanoTime();
    int ready = new SpinThenBlock(TimeUnit.SECONDS.toNanos(10)).calculateStrategy(() -> 0, true);
    assertThat(ready).isZero(); // not SELECT: the loop runs its tasks without blocking
    assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(1));
  }

  @Test
  void eventsArrivingWhileItSpinsAreHandledWithoutBlocking() throws Exception {
    int[] polls = {0};
    int ready =
        new SpinThenBlock(TimeUnit.SECONDS.toNanos(10))
            .calculateStrategy(() -> ++polls[0] < 1000 ? 0 : 1, false);
    assertThat(ready).isEqualTo(1);
    assertThat(polls[0]).isEqualTo(1000);
  }

  @Test
  void aQuietLoopBlocksOnceItsSpinIsOver() throws Exception {
    long spin = TimeUnit.MILLISECONDS.toNanos(20);
    int[] polls = {0};
    long t0 = System.nanoTime();
    int strategy =
        new SpinThenBlock(spin)
            .calculateStrategy(
                () -> {
                  polls[0]++;
                  return 0;
                },
                false);
    long took = System.nanoTime() - t0;
    assertThat(strategy).isEqualTo(SelectStrategy.SELECT);
    assertThat(took).isGreaterThanOrEqualTo(spin).isLessThan(TimeUnit.SECONDS.toNanos(5));
    assertThat(polls[0]).isGreaterThan(1);
  }

  @Test
  void aSpinMustBePositive() {
    assertThatThrownBy(() -> new SpinThenBlock(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
