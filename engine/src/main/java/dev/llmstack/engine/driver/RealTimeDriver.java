package dev.llmstack.engine.driver;

import dev.llmstack.engine.core.EngineCore;
import dev.llmstack.engine.core.Sequence;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * Runs an {@link EngineCore} against the wall clock on one dedicated thread, so the HTTP front sees
 * tokens at the pace the performance model predicts. With a time scale K the engine runs K times
 * faster than real time; every time it reports (TTFT, latencies, metrics) is engine time.
 *
 * <p>Other threads talk to the core only through the inbox; the scheduler thread drains it before
 * each step, so a client's disconnect frees its KV blocks before the next step starts.
 */
public final class RealTimeDriver implements EngineClock, AutoCloseable {

  private static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final EngineCore core;
  private final double timeScale;
  private final long wallOrigin = System.nanoTime();
  private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
  private final Thread thread;
  private volatile boolean closed;
  private volatile boolean hung;
  private volatile double slowdown = 1.0;
  // Written by the scheduler thread only; read by metrics.
  private volatile long steps;
  private volatile long modelledNanos;
  private volatile long lagNanos;

  public RealTimeDriver(EngineCore core, double timeScale, String name) {
    if (!(timeScale > 0)) {
      throw new IllegalArgumentException("time scale must be positive: " + timeScale);
    }
    this.core = core;
    this.timeScale = timeScale;
    this.thread = Thread.ofPlatform().name(name).daemon(true).unstarted(this::loop);
  }

  public RealTimeDriver start() {
    thread.start();
    return this;
  }

  /** Current engine time in nanoseconds since the driver was created. */
  @Override
  public long now() {
    return (long) ((System.nanoTime() - wallOrigin) * timeScale);
  }

  public void submit(Sequence seq) {
    send(() -> core.submit(seq));
  }

  public void abort(Sequence seq) {
    send(() -> core.abort(seq, now()));
  }

  /** Runs {@code query} on the scheduler thread between steps. */
  public <T> CompletableFuture<T> call(Function<EngineCore, T> query) {
    CompletableFuture<T> result = new CompletableFuture<>();
    send(
        () -> {
          try {
            result.complete(query.apply(core));
          } catch (RuntimeException e) {
            result.completeExceptionally(e);
          }
        });
    return result;
  }

  /** A hung engine keeps accepting requests but computes nothing (fault injection). */
  public void setHung(boolean hung) {
    this.hung = hung;
    LockSupport.unpark(thread);
  }

  /** Steps take {@code factor} times longer (fault injection); 1 is normal. */
  public void setSlowdown(double factor) {
    if (!(factor > 0)) {
      throw new IllegalArgumentException("slowdown must be positive");
    }
    this.slowdown = factor;
  }

  public boolean isHung() {
    return hung;
  }

  public double slowdown() {
    return slowdown;
  }

  private void send(Runnable command) {
    inbox.add(command);
    LockSupport.unpark(thread);
  }

  /** Steps run so far. */
  public long steps() {
    return steps;
  }

  /** Engine time the performance model asked for, summed over all steps. */
  public long modelledNanos() {
    return modelledNanos;
  }

  /**
   * Engine time lost between a step's modelled end and the next step's start (our own CPU work and
   * timer slack), summed over back-to-back steps. Near zero while the simulator keeps pace with the
   * modelled GPU.
   */
  public long lagNanos() {
    return lagNanos;
  }

  /**
   * The step loop. Steps are anchored to the modelled schedule: the next step starts where the
   * previous one ended, so our own CPU work between steps (delivering tokens, admitting requests)
   * overlaps the modelled GPU time the way vLLM's scheduler overlaps the GPU, instead of stretching
   * every step. Only when that work takes longer than a whole step does the engine fall behind;
   * then it restarts from the wall clock and counts the difference as lag.
   */
  private void loop() {
    long previousEnd = -1;
    long previousDuration = 0;
    while (!closed) {
      drainInbox();
      if (hung || !core.hasWork()) {
        previousEnd = -1;
        LockSupport.parkNanos(this, IDLE_PARK_NANOS);
        continue;
      }
      long now = now();
      long start = now;
      if (previousEnd >= 0) {
        long late = now - previousEnd;
        if (late <= previousDuration) {
          start = previousEnd; // the work since the last step ran in the shadow of this one
        } else {
          lagNanos += late;
        }
      }
      long duration = core.beginStep(start);
      if (duration < 0) {
        previousEnd = -1;
        LockSupport.parkNanos(this, IDLE_PARK_NANOS);
        continue;
      }
      long stepped = (long) (duration * slowdown);
      long end = start + stepped;
      sleepUntil(end);
      if (closed) {
        break;
      }
      steps++;
      modelledNanos += stepped; // before endStep, so a client that sees the tokens sees the count
      previousEnd = end;
      previousDuration = stepped;
      core.endStep(end);
    }
    drainInbox();
    core.abortAll(now());
  }

  private void sleepUntil(long engineNanos) {
    long wallDeadline = wallOrigin + (long) (engineNanos / timeScale);
    long left;
    while (!closed && (left = wallDeadline - System.nanoTime()) > 0) {
      LockSupport.parkNanos(this, left);
    }
  }

  private void drainInbox() {
    Runnable command;
    while ((command = inbox.poll()) != null) {
      command.run();
    }
  }

  /** Stops the scheduler thread; sequences still in the engine end as aborted. */
  @Override
  public void close() {
    closed = true;
    LockSupport.unpark(thread);
    try {
      thread.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
