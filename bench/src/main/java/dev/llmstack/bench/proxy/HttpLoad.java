package dev.llmstack.bench.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * A small HTTP/1.1 load generator on one Netty event loop: a fixed set of keep-alive connections,
 * either closed loop (each sends its next request as soon as the previous response ends:
 * saturation) or open loop at a fixed rate (latency measured from each request's intended send
 * time, so a stalled server is not hidden by the client waiting: coordinated omission corrected).
 */
public final class HttpLoad implements AutoCloseable {

  /**
   * What a run measured. Latencies in microseconds, to the last response byte; {@code served}
   * counts every response, warm-up included.
   */
  public record Result(
      double seconds,
      long ok,
      long errors,
      Histogram latencyMicros,
      long served,
      Timeline timeline) {
    public double requestsPerSecond() {
      return ok / seconds;
    }

    public double p50Ms() {
      return latencyMicros.getValueAtPercentile(50) / 1000.0;
    }

    public double p99Ms() {
      return latencyMicros.getValueAtPercentile(99) / 1000.0;
    }
  }

  /**
   * Every counted request of an open-loop run, in completion order: when it was meant to be sent
   * (microseconds after the counted window began) and its latency in microseconds. It shows when
   * slow requests happened, which a histogram cannot: spells of them next to a proxy's GC log say
   * whether its pauses, or something else, make the tail. {@code startNanos} is when the counted
   * window began, by {@link System#nanoTime()}: CLOCK_MONOTONIC on Linux, the clock a scheduler
   * trace ({@code perf sched record -k CLOCK_MONOTONIC}) stamps its events with, so the two line
   * up.
   */
  public record Timeline(long startNanos, long[] sentMicros, long[] latencyMicros, int size) {

    /** CSV with a header line. */
    public String toCsv() {
      StringBuilder sb = new StringBuilder(size * 16).append("sent_us,latency_us\n");
      for (int i = 0; i < size; i++) {
        sb.append(sentMicros[i]).append(',').append(latencyMicros[i]).append('\n');
      }
      return sb.toString();
    }

    /**
     * Spells of slow requests: runs of 10 ms slots that each saw a request slower than {@code
     * slowMicros}, slots up to 30 ms apart joined into one spell.
     */
    public int slowSpells(long slowMicros) {
      long slot = 10_000;
      long lastSlow = Long.MIN_VALUE / 2;
      int spells = 0;
      long[] slowSlots = new long[size];
      int n = 0;
      for (int i = 0; i < size; i++) {
        if (latencyMicros[i] > slowMicros) {
          slowSlots[n++] = sentMicros[i] / slot;
        }
      }
      java.util.Arrays.sort(slowSlots, 0, n);
      for (int i = 0; i < n; i++) {
        if (slowSlots[i] - lastSlow > 3) {
          spells++;
        }
        lastSlow = slowSlots[i];
      }
      return spells;
    }

    /**
     * Requests slower than {@code slowMicros} that fell in short spells: requests over the
     * threshold that were meant to be sent less than {@code gapMicros} apart form one spell, and a
     * spell counts when its slowest request stayed under {@code longMicros}. A proxy's own bursts
     * of work (a collection, a compile, its monitor) make such short spells; the machine's longer
     * stalls hit every target alike and decide the p99 of a noisy round, so this count tells
     * proxies apart where the p99 cannot.
     */
    public long slowInShortSpells(long slowMicros, long gapMicros, long longMicros) {
      java.util.List<long[]> slow = new java.util.ArrayList<>(); // {sent, latency}
      for (int i = 0; i < size; i++) {
        if (latencyMicros[i] > slowMicros) {
          slow.add(new long[] {sentMicros[i], latencyMicros[i]});
        }
      }
      // the timeline is in completion order
      slow.sort(java.util.Comparator.comparingLong(r -> r[0]));
      long counted = 0;
      int spellSize = 0;
      long spellMax = 0;
      long lastSent = 0;
      for (long[] r : slow) {
        if (spellSize > 0 && r[0] - lastSent >= gapMicros) { // the spell before ended
          counted += spellMax < longMicros ? spellSize : 0;
          spellSize = 0;
          spellMax = 0;
        }
        spellSize++;
        spellMax = Math.max(spellMax, r[1]);
        lastSent = r[0];
      }
      counted += spellMax < longMicros ? spellSize : 0;
      return counted;
    }
  }

  private final BenchLoop loop;
  private final boolean ownsLoop;
  private final String host;
  private final int port;
  private final String path;
  private final byte[] body;

  private final HttpHeaders headers;

  /** A generator on a loop of its own. */
  public HttpLoad(String host, int port, String path, byte[] body) {
    this(new BenchLoop(), true, host, port, path, body);
  }

  /** A generator on a loop it may share (with stub backends) and does not shut down. */
  public HttpLoad(BenchLoop loop, String host, int port, String path, byte[] body) {
    this(loop, false, host, port, path, body);
  }

  private HttpLoad(
      BenchLoop loop, boolean ownsLoop, String host, int port, String path, byte[] body) {
    this.loop = loop;
    this.ownsLoop = ownsLoop;
    this.host = host;
    this.port = port;
    this.path = path;
    this.body = body;
    this.headers =
        new DefaultHttpHeaders()
            .set(HttpHeaderNames.HOST, host + ":" + port)
            .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
            .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
  }

  public Result closed(int connections, long millis) throws InterruptedException {
    return run(connections, 0, millis);
  }

  /**
   * Open loop at {@code rate} for {@code warmupMillis + millis}; only requests intended after the
   * warm-up are counted, so the first second's connection setup on the proxy's side (upstream
   * connections, pool growth) is not mistaken for steady-state latency.
   */
  public Result open(int connections, double rate, long warmupMillis, long millis)
      throws InterruptedException {
    return start(connections, rate, warmupMillis, millis, false, Slices.WHOLE, System.nanoTime())
        .await();
  }

  /** {@link #open} that also keeps a {@link Timeline} of the counted requests. */
  public Result openWithTimeline(int connections, double rate, long warmupMillis, long millis)
      throws InterruptedException {
    return start(connections, rate, warmupMillis, millis, true, Slices.WHOLE, System.nanoTime())
        .await();
  }

  /**
   * Open-loop runs against every one of {@code loads} at once, each in time slices of its own:
   * {@code loads.get(i)} sends only in slice {@code i}, {@code i + n}, {@code i + 2n}, ... of
   * {@code sliceMillis} each (n targets, {@code guardMillis} between slices), at {@code rate},
   * until {@code warmupMillis + millis} of its own slices have passed. Each result counts {@code
   * millis} of its target's slices.
   *
   * <p>Why: run one after the other, each target meets the machine's noise of its own seconds, and
   * on a VM whose stalls come in spells that decides a round's p99 more than the target does (a
   * direct round's p99 ranged 0.1-3.8 ms). Sliced finely, every target meets the same spells.
   */
  public static List<Result> sliced(
      List<HttpLoad> loads,
      int connections,
      double rate,
      long warmupMillis,
      long millis,
      long sliceMillis,
      long guardMillis,
      boolean timeline)
      throws InterruptedException {
    long slice = TimeUnit.MILLISECONDS.toNanos(sliceMillis);
    long guard = TimeUnit.MILLISECONDS.toNanos(guardMillis);
    long begin = System.nanoTime();
    List<Pending> pending = new ArrayList<>();
    for (int i = 0; i < loads.size(); i++) {
      pending.add(
          loads
              .get(i)
              .start(
                  connections,
                  rate,
                  warmupMillis,
                  millis,
                  timeline,
                  new Slices(slice, guard, loads.size(), i),
                  begin));
    }
    // Every load ends before any closes its connections: a proxy closing a load's 512 streams
    // works for milliseconds, in the slices of the loads still running.
    for (Pending p : pending) {
      p.awaitEnd();
    }
    List<Result> results = new ArrayList<>();
    for (Pending p : pending) {
      results.add(p.result());
    }
    return results;
  }

  /**
   * Where a load's requests go on the wall clock. A load plans its requests on a clock of its own
   * that runs only in its slices: slice {@code slot}, {@code slot + slots}, ... of {@code
   * sliceNanos} each, every slice followed by {@code guardNanos} in which no load starts a request,
   * so that the requests a slice started end before the next slice begins. {@link #WHOLE} is the
   * whole run, its clock the wall clock.
   */
  public record Slices(long sliceNanos, long guardNanos, int slots, int slot) {
    public static final Slices WHOLE = new Slices(1, 0, 1, 0);

    public Slices {
      if (sliceNanos <= 0 || guardNanos < 0 || slots <= 0 || slot < 0 || slot >= slots) {
        throw new IllegalArgumentException(
            "slice " + sliceNanos + " guard " + guardNanos + " slot " + slot + "/" + slots);
      }
    }

    /** The wall-clock time of {@code own} nanoseconds on the load's clock, from {@code begin}. */
    public long wall(long begin, long own) {
      long whole = own / sliceNanos;
      return begin + (whole * slots + slot) * (sliceNanos + guardNanos) + own % sliceNanos;
    }
  }

  private Result run(int connections, double rate, long millis) throws InterruptedException {
    return start(connections, rate, 0, millis, false, Slices.WHOLE, System.nanoTime()).await();
  }

  /** A run under way: its connections send on the shared loop until their end. */
  private final class Pending {
    private final List<Channel> channels = new ArrayList<>();
    private final Recorder recorder = new Recorder(3);
    private final AtomicLong ok = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong served = new AtomicLong();
    private final CountDownLatch finished;
    private final long measuredWallStart;
    private final long waitMillis;
    private final long millis;
    private final boolean sliced;
    private final TimelineSink sink;
    private final boolean keepTimeline;

    Pending(
        int connections,
        long measuredWallStart,
        long waitMillis,
        long millis,
        boolean sliced,
        TimelineSink sink,
        boolean keepTimeline) {
      this.finished = new CountDownLatch(connections);
      this.measuredWallStart = measuredWallStart;
      this.waitMillis = waitMillis;
      this.millis = millis;
      this.sliced = sliced;
      this.sink = sink;
      this.keepTimeline = keepTimeline;
    }

    Result await() throws InterruptedException {
      awaitEnd();
      return result();
    }

    void awaitEnd() throws InterruptedException {
      finished.await(waitMillis, TimeUnit.MILLISECONDS);
    }

    /** The run's figures, once it has ended; closes its connections. */
    Result result() {
      // Sliced, the counted window is this load's own slices: millis of them, whatever the wall
      // clock says.
      double seconds =
          sliced
              ? millis / 1000.0
              : Math.min((System.nanoTime() - measuredWallStart) / 1e9, millis / 1000.0 + 0.001);
      for (Channel ch : channels) {
        ch.close();
      }
      return new Result(
          seconds,
          ok.get(),
          errors.get(),
          recorder.getIntervalHistogram(),
          served.get(),
          keepTimeline
              ? new Timeline(measuredWallStart, sink.sent, sink.latency, sink.size)
              : null);
    }
  }

  private Pending start(
      int connections,
      double rate,
      long warmupMillis,
      long millis,
      boolean keepTimeline,
      Slices slices,
      long begin)
      throws InterruptedException {
    long measureFrom = TimeUnit.MILLISECONDS.toNanos(warmupMillis); // on the load's own clock
    long end = measureFrom + TimeUnit.MILLISECONDS.toNanos(millis);
    long interval = rate > 0 ? (long) (connections * 1e9 / rate) : 0;
    // All connections share one event loop, so the timeline needs no synchronisation.
    int capacity = keepTimeline ? (int) Math.min(50_000_000, rate * millis / 1000 * 1.2 + 1024) : 0;
    long measuredWallStart = slices.wall(begin, measureFrom);
    TimelineSink sink = new TimelineSink(measuredWallStart, capacity);
    long wallSpan = slices.wall(begin, end) - begin;
    Pending run =
        new Pending(
            connections,
            measuredWallStart,
            TimeUnit.NANOSECONDS.toMillis(wallSpan) + 60_000,
            millis,
            slices.slots() > 1,
            sink,
            keepTimeline);
    for (int i = 0; i < connections; i++) {
      long first = rate > 0 ? (long) (i * 1e9 / rate) : 0;
      Conn conn = new Conn(begin, slices, first, interval, measureFrom, end, run);
      Channel ch =
          new Bootstrap()
              .group(loop.group())
              .channel(NioSocketChannel.class)
              .option(ChannelOption.TCP_NODELAY, true)
              .handler(
                  new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                      c.pipeline().addLast(new HttpClientCodec()).addLast(conn);
                    }
                  })
              .connect(host, port)
              .sync()
              .channel();
      run.channels.add(ch);
      ch.eventLoop().execute(conn::scheduleNext);
    }
    return run;
  }

  private static final class TimelineSink {
    final long start;
    final long[] sent;
    final long[] latency;
    int size;

    TimelineSink(long start, int capacity) {
      this.start = start;
      this.sent = new long[capacity];
      this.latency = new long[capacity];
    }

    void add(long intended, long latencyMicros) {
      if (size < sent.length) {
        sent[size] = (intended - start) / 1000;
        latency[size] = latencyMicros;
        size++;
      }
    }
  }

  private final class Conn extends SimpleChannelInboundHandler<HttpObject> {
    private final long begin;
    private final Slices slices;
    private final long interval;
    private final long measureFrom;
    private final long end;
    private final Pending run;

    /** When the next request is meant to go, on this load's own clock (ns from begin). */
    private long own;

    private boolean failed;
    private ChannelHandlerContext ctx;
    private boolean done;

    Conn(
        long begin,
        Slices slices,
        long first,
        long interval,
        long measureFrom,
        long end,
        Pending run) {
      this.begin = begin;
      this.slices = slices;
      this.own = first;
      this.interval = interval;
      this.measureFrom = measureFrom;
      this.end = end;
      this.run = run;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    void scheduleNext() {
      if (own >= end) {
        finish();
        return;
      }
      long wait = slices.wall(begin, own) - System.nanoTime();
      if (wait > 0) {
        ctx.executor().schedule(this::send, wait, TimeUnit.NANOSECONDS);
      } else {
        send();
      }
    }

    private void send() {
      if (interval == 0) {
        own = System.nanoTime() - begin; // closed loop: a request starts when it is sent
      }
      // One read-only headers object for every request: the generator should allocate as little as
      // it can, or its own GC pauses show up in every target's tail latency.
      FullHttpRequest req =
          new DefaultFullHttpRequest(
              HttpVersion.HTTP_1_1,
              HttpMethod.POST,
              path,
              Unpooled.wrappedBuffer(body),
              headers,
              EmptyHttpHeaders.INSTANCE);
      failed = false;
      ctx.writeAndFlush(req);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext c, HttpObject msg) {
      if (msg instanceof HttpResponse r && r.status().code() != 200) {
        failed = true;
      }
      if (msg instanceof LastHttpContent) {
        long now = System.nanoTime();
        run.served.incrementAndGet();
        if (own < measureFrom) {
          // warm-up: not counted
        } else if (failed) {
          run.errors.incrementAndGet();
        } else {
          run.ok.incrementAndGet();
          long intended = slices.wall(begin, own);
          long micros = Math.max(1, (now - intended) / 1000);
          run.recorder.recordValue(micros);
          run.sink.add(intended, micros);
        }
        own = interval == 0 ? now - begin : own + interval;
        scheduleNext();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext c) {
      if (!done) {
        run.errors.incrementAndGet();
        finish();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
      c.close();
    }

    private void finish() {
      if (!done) {
        done = true;
        run.finished.countDown();
      }
    }
  }

  @Override
  public void close() {
    if (ownsLoop) {
      loop.close();
    }
  }
}
