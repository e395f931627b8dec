package dev.llmstack.engine.driver;

import dev.llmstack.engine.core.EngineCore;
import dev.llmstack.engine.core.Sequence;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Runs many {@link EngineCore}s in one thread on a virtual clock: no sleeping, no HTTP. Time jumps
 * from event to event (a step's end, a scheduled arrival), so an hour of traffic runs in seconds.
 * This is the driver of the capacity-planning twin.
 */
public final class VirtualTimeDriver implements EngineClock {

  /** One engine under this driver. */
  public final class Engine {
    private final EngineCore core;
    private boolean busy;
    private long busyNanos;

    private Engine(EngineCore core) {
      this.core = core;
    }

    public EngineCore core() {
      return core;
    }

    /** Engine time spent stepping so far. */
    public long busyNanos() {
      return busyNanos;
    }

    /** Queues {@code seq} now and wakes the engine if it is idle. */
    public void submit(Sequence seq) {
      core.submit(seq);
      wake(this);
    }

    public void abort(Sequence seq) {
      core.abort(seq, now);
    }
  }

  private record Event(long nanos, long order, Engine stepEnd, Runnable action)
      implements Comparable<Event> {
    @Override
    public int compareTo(Event o) {
      int c = Long.compare(nanos, o.nanos);
      return c != 0 ? c : Long.compare(order, o.order);
    }
  }

  private final PriorityQueue<Event> events = new PriorityQueue<>();
  private final List<Engine> engines = new ArrayList<>();
  private long now;
  private long order;
  private long steps;

  public Engine addEngine(EngineCore core) {
    Engine e = new Engine(core);
    engines.add(e);
    return e;
  }

  public List<Engine> engines() {
    return List.copyOf(engines);
  }

  /** Current virtual time in nanoseconds. */
  @Override
  public long now() {
    return now;
  }

  /** Scheduler steps run so far, over all engines. */
  public long steps() {
    return steps;
  }

  /** Runs {@code action} at virtual time {@code nanos} (not before now). */
  public void at(long nanos, Runnable action) {
    events.add(new Event(Math.max(nanos, now), order++, null, action));
  }

  /** Processes events until none are left. */
  public void run() {
    runUntil(Long.MAX_VALUE);
  }

  /** Processes events up to and including time {@code limit}; returns whether any remain. */
  public boolean runUntil(long limit) {
    while (!events.isEmpty() && events.peek().nanos() <= limit) {
      Event e = events.poll();
      now = e.nanos();
      if (e.stepEnd() != null) {
        Engine engine = e.stepEnd();
        engine.core.endStep(now);
        steps++;
        engine.busy = false;
        startStep(engine);
      } else {
        e.action().run();
      }
    }
    if (limit != Long.MAX_VALUE && limit > now) {
      now = limit;
    }
    return !events.isEmpty();
  }

  private void wake(Engine engine) {
    if (!engine.busy) {
      startStep(engine);
    }
  }

  private void startStep(Engine engine) {
    long duration = engine.core.beginStep(now);
    if (duration < 0) {
      return;
    }
    engine.busy = true;
    engine.busyNanos += duration;
    events.add(new Event(now + duration, order++, engine, null));
  }
}
