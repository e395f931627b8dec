package dev.llmstack.router.threads;

import com.sun.jna.Function;
import com.sun.jna.LastErrorException;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Locale;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * Where the router's background threads stand against its event loops: the engine monitor, the
 * dashboard sampler and the config-file watcher. They run at Java's minimum priority (nice 10 under
 * the launcher's flags, docs/configuration.md) and, by default on Linux, in the kernel's {@code
 * SCHED_IDLE} class.
 *
 * <p>Why the class and not only the nice value: Linux's EEVDF scheduler lets a task it has picked
 * run out a protected slice (about a millisecond) before a woken one may take the core, whatever
 * their nice values. An event loop woken by a request while the monitor was parsing a scrape on the
 * same core waited out that slice: in a traced benchmark window, 12 or 13 of the 14-20 times the
 * event loop waited over 0.2 ms to run were behind the monitor or the dashboard sampler, none in
 * this class (docs/benchmarks/router, session 13). A {@code SCHED_IDLE} thread is preempted the
 * moment any normal thread wakes on its core.
 *
 * <p>What it costs: on a core kept busy by normal threads, an idle-class thread gets a sliver of it
 * (weight 3 against 1024). So when every core the router may use is saturated, probes and scrapes
 * are sent late and their results arrive late. They do not fail for it: the monitor's event loop
 * reads every answer that has arrived before it runs its expired deadlines. Where the router has a
 * spare core, the scheduler moves the thread there. {@code --background-threads normal} keeps the
 * nice value alone.
 */
public final class BackgroundThreads {

  private static final Logger LOG = Logger.getLogger(BackgroundThreads.class.getName());

  /** How background threads are scheduled. */
  public enum Scheduling {
    /** Linux's {@code SCHED_IDLE}: preempted at once by any normal thread (the default). */
    IDLE,
    /** The normal class, at Java's minimum priority only. */
    NORMAL;

    /** Parses a command-line value: "idle" or "normal". */
    public static Scheduling parse(String value) {
      return switch (value.trim().toLowerCase(Locale.ROOT)) {
        case "idle" -> IDLE;
        case "normal" -> NORMAL;
        default ->
            throw new IllegalArgumentException(
                "background threads: expected idle or normal, got " + value);
      };
    }
  }

  public static final BackgroundThreads IDLE = new BackgroundThreads(Scheduling.IDLE);
  public static final BackgroundThreads NORMAL = new BackgroundThreads(Scheduling.NORMAL);

  /** {@code SCHED_IDLE} in Linux's uapi/linux/sched.h. */
  private static final int SCHED_IDLE = 5;

  private static final boolean LINUX =
      System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");

  /** Logs once, not per thread, when the class could not be set. */
  private static final AtomicBoolean WARNED = new AtomicBoolean();

  private final Scheduling scheduling;

  private BackgroundThreads(Scheduling scheduling) {
    this.scheduling = scheduling;
  }

  public static BackgroundThreads of(Scheduling scheduling) {
    return scheduling == Scheduling.IDLE ? IDLE : NORMAL;
  }

  public Scheduling scheduling() {
    return scheduling;
  }

  /**
   * A factory of daemon threads named after {@code name} at Java's minimum priority, each of which
   * first moves itself into this scheduling class. Netty's factory, so an event loop made with it
   * keeps its fast thread-locals.
   */
  public ThreadFactory factory(String name) {
    ThreadFactory threads = new DefaultThreadFactory(name, true, Thread.MIN_PRIORITY);
    if (scheduling == Scheduling.NORMAL) {
      return threads;
    }
    return task ->
        threads.newThread(
            () -> {
              idleCurrentThread();
              task.run();
            });
  }

  /**
   * Puts the calling thread into {@code SCHED_IDLE}; false where that is not possible (not Linux,
   * no libc, or refused), in which case it keeps its nice value.
   */
  static boolean idleCurrentThread() {
    if (!LINUX) {
      return false;
    }
    try {
      // sched_setscheduler(0, ...) sets the calling thread; sched_param's only field is 0 here.
      Function call = Function.getFunction("c", "sched_setscheduler", Function.THROW_LAST_ERROR);
      return call.invokeInt(new Object[] {0, SCHED_IDLE, new int[] {0}}) == 0;
    } catch (LastErrorException | UnsatisfiedLinkError e) {
      if (WARNED.compareAndSet(false, true)) {
        LOG.warning(
            "background threads stay in the normal scheduling class (" + e.getMessage() + ")");
      }
      return false;
    }
  }
}
