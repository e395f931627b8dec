package dev.llmstack.router.proxy;

import io.netty.channel.SelectStrategy;
import io.netty.util.IntSupplier;

/**
 * An event loop's wait for I/O that polls for a while before it blocks ({@code --busy-poll-us}).
 *
 * <p>Why: when the loop blocks, its thread sleeps and its core may halt; the next request then
 * waits for the kernel to wake the thread and, on a virtual machine, for the hypervisor to resume
 * the halted core, which takes from microseconds to milliseconds. Polling keeps the thread on its
 * core through the short gaps between requests of a busy router, as the kernel's own halt polling
 * ({@code guest_halt_poll_ns}) does for a whole guest, but without needing root on the host. The
 * price is CPU: a loop that sees a request at least every {@code spinNanos} never sleeps. A quiet
 * loop spins once per wake-up, then blocks as usual.
 *
 * <p>While it spins, work handed to the loop by other threads and timers falling due wait for the
 * spin to end (Netty signals a loop's wake-up descriptor only when the loop is blocked), so the
 * delay they see is bounded by {@code spinNanos}.
 */
final class SpinThenBlock implements SelectStrategy {

  private final long spinNanos;

  SpinThenBlock(long spinNanos) {
    if (spinNanos <= 0) {
      throw new IllegalArgumentException("spinNanos must be positive");
    }
    this.spinNanos = spinNanos;
  }

  @Override
  public int calculateStrategy(IntSupplier selectNow, boolean hasTasks) throws Exception {
    int ready = selectNow.get();
    if (ready > 0 || hasTasks) {
      return ready; // what is ready now, then the queued tasks, as Netty's default does
    }
    long deadline = System.nanoTime() + spinNanos;
    do {
      Thread.onSpinWait();
      ready = selectNow.get();
      if (ready > 0) {
        return ready;
      }
    } while (System.nanoTime() - deadline < 0);
    return SelectStrategy.SELECT;
  }
}
