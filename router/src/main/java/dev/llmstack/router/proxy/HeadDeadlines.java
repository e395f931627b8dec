package dev.llmstack.router.proxy;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Deadlines for heads awaited on one event loop, all with the same timeout: the first byte of an
 * engine's response (one instance per loop for the exchanges), or a client's next request (another
 * for the client connections).
 *
 * <p>Every exchange of a router waits with the same timeout, so the order of arming is the order of
 * the deadlines, and an intrusive FIFO list is enough: arming and disarming are O(1), allocate
 * nothing, and a disarmed exchange is unlinked at once. That last point is why this exists: with a
 * timer wheel, a cancelled timeout (and, through its task, the whole exchange with its request)
 * stayed reachable until the wheel's next tick, so at 25k requests/s every young collection copied
 * megabytes of finished exchanges, and those copies were most of its pause.
 *
 * <p>One sweep task per loop, scheduled only while exchanges wait, expires the overdue ones at most
 * {@link #GRANULARITY_NANOS} late. Not thread-safe: only the loop's own thread calls it.
 */
final class HeadDeadlines {

  /** How late a deadline may fire; also the shortest gap between two sweeps. */
  static final long GRANULARITY_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  /** Something that can wait for a head: the list's links live in it. */
  abstract static class Waiter {
    private Waiter prev;
    private Waiter next;
    private long deadline;
    private boolean armed;

    /** Called on the loop when the deadline passed while still armed. */
    abstract void headTimedOut();
  }

  private final EventExecutor loop;
  private final Runnable sweepTask = this::sweep;
  private Waiter head;
  private Waiter tail;
  private int size;
  private ScheduledFuture<?> sweep; // the one pending sweep, or null
  private long sweepAt;

  HeadDeadlines(EventExecutor loop) {
    this.loop = loop;
  }

  /** Arms (or re-arms) {@code w} to time out {@code timeoutNanos} from now. */
  void arm(Waiter w, long timeoutNanos) {
    disarm(w);
    w.deadline = System.nanoTime() + timeoutNanos;
    // Normally the new deadline is the latest; only a changed timeout setting walks back.
    Waiter after = tail;
    while (after != null && after.deadline - w.deadline > 0) {
      after = after.prev;
    }
    w.prev = after;
    w.next = after == null ? head : after.next;
    if (w.next == null) {
      tail = w;
    } else {
      w.next.prev = w;
    }
    if (after == null) {
      head = w;
    } else {
      after.next = w;
    }
    w.armed = true;
    size++;
    if (sweep == null || head.deadline - sweepAt < 0) {
      scheduleSweep(head.deadline);
    }
  }

  /** Disarms {@code w}; nothing happens if it is not armed. */
  void disarm(Waiter w) {
    if (!w.armed) {
      return;
    }
    if (w.prev == null) {
      head = w.next;
    } else {
      w.prev.next = w.next;
    }
    if (w.next == null) {
      tail = w.prev;
    } else {
      w.next.prev = w.prev;
    }
    w.prev = null;
    w.next = null;
    w.armed = false;
    size--;
  }

  /** Exchanges waiting now. */
  int size() {
    return size;
  }

  private void sweep() {
    sweep = null;
    long now = System.nanoTime();
    while (head != null && head.deadline - now <= 0) {
      Waiter w = head;
      disarm(w);
      w.headTimedOut(); // may arm again (a retry on another engine): it goes to the tail
    }
    if (head != null && sweep == null) {
      scheduleSweep(Math.max(head.deadline, now + GRANULARITY_NANOS));
    }
  }

  private void scheduleSweep(long atNanos) {
    if (sweep != null) {
      // A deadline earlier than the pending sweep: only after a change of the timeout setting.
      sweep.cancel(false);
      sweep = null;
    }
    try {
      sweep =
          loop.schedule(sweepTask, Math.max(0, atNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
      sweepAt = atNanos;
    } catch (RejectedExecutionException shuttingDown) {
      // the loop stops: its connections, and their exchanges, close with it
    }
  }
}
