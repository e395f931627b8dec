package dev.llmstack.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HeadDeadlinesTest {

  final EventLoop loop = new DefaultEventLoop();
  final HeadDeadlines deadlines = new HeadDeadlines(loop);
  final List<String> fired = new CopyOnWriteArrayList<>();

  @AfterEach
  void stop() {
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }

  final class Named extends HeadDeadlines.Waiter {
    final String name;
    volatile long firedAt = -1;
    Runnable then = () -> {};

    Named(String name) {
      this.name = name;
    }

    @Override
    void headTimedOut() {
      firedAt = System.nanoTime();
      fired.add(name);
      then.run();
    }
  }

  <T> T onLoop(Callable<T> c) throws Exception {
    return loop.submit(c).get(5, TimeUnit.SECONDS);
  }

  void armOnLoop(Named w, long millis) throws Exception {
    onLoop(
        () -> {
          deadlines.arm(w, ms(millis));
          return null;
        });
  }

  static long ms(long n) {
    return TimeUnit.MILLISECONDS.toNanos(n);
  }

  @Test
  void anArmedWaiterTimesOutAfterItsTimeoutAndNotMuchLater() throws Exception {
    Named a = new Named("a");
    long t0 = System.nanoTime();
    armOnLoop(a, 80);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (fired.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(fired).containsExactly("a");
    assertThat(a.firedAt - t0)
        .isBetween(ms(80), ms(80) + HeadDeadlines.GRANULARITY_NANOS + ms(500));
    assertThat(onLoop(deadlines::size)).isZero();
  }

  @Test
  void aDisarmedWaiterIsUnlinkedAtOnceAndNeverFires() throws Exception {
    Named a = new Named("a");
    Named b = new Named("b");
    Named c = new Named("c");
    assertThat(
            onLoop(
                () -> {
                  deadlines.arm(a, ms(60));
                  deadlines.arm(b, ms(60));
                  deadlines.arm(c, ms(60));
                  deadlines.disarm(b); // from the middle
                  deadlines.disarm(b); // twice is harmless
                  return deadlines.size();
                }))
        .isEqualTo(2);
    Thread.sleep(300);
    assertThat(fired).containsExactly("a", "c");
    assertThat(onLoop(deadlines::size)).isZero();
  }

  @Test
  void everyWaiterDisarmedMeansNothingFires() throws Exception {
    Named a = new Named("a");
    onLoop(
        () -> {
          deadlines.arm(a, ms(40));
          deadlines.disarm(a);
          return null;
        });
    Thread.sleep(200);
    assertThat(fired).isEmpty();
  }

  @Test
  void anEarlierDeadlineArmedLaterFiresFirst() throws Exception {
    Named slow = new Named("slow");
    Named fast = new Named("fast");
    onLoop(
        () -> {
          deadlines.arm(slow, ms(400));
          deadlines.arm(fast, ms(40)); // a shorter timeout after a settings change
          return null;
        });
    Thread.sleep(250);
    assertThat(fired).containsExactly("fast");
    Thread.sleep(600);
    assertThat(fired).containsExactly("fast", "slow");
  }

  @Test
  void aWaiterReArmedFromItsTimeoutFiresAgain() throws Exception {
    Named retry = new Named("retry");
    retry.then =
        () -> {
          if (fired.size() < 2) {
            deadlines.arm(retry, ms(30)); // a retry on the next engine waits again
          }
        };
    armOnLoop(retry, 30);
    Thread.sleep(500);
    assertThat(fired).containsExactly("retry", "retry");
    assertThat(onLoop(deadlines::size)).isZero();
  }

  @Test
  void reArmingMovesTheDeadline() throws Exception {
    Named a = new Named("a");
    onLoop(
        () -> {
          deadlines.arm(a, ms(50));
          deadlines.arm(a, ms(600));
          return deadlines.size();
        });
    Thread.sleep(250);
    assertThat(fired).isEmpty();
    assertThat(onLoop(deadlines::size)).isEqualTo(1);
  }
}
