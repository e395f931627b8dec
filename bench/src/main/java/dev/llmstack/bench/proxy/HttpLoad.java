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
    return run(connections, rate, warmupMillis, millis, false);
  }

  /** {@link #open} that also keeps a {@link Timeline} of the counted requests. */
  public Result openWithTimeline(int connections, double rate, long warmupMillis, long millis)
      throws InterruptedException {
    return run(connections, rate, warmupMillis, millis, true);
  }

  private Result run(int connections, double rate, long millis) throws InterruptedException {
    return run(connections, rate, 0, millis, false);
  }

  private Result run(
      int connections, double rate, long warmupMillis, long millis, boolean keepTimeline)
      throws InterruptedException {
    Recorder recorder = new Recorder(3);
    AtomicLong ok = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    AtomicLong served = new AtomicLong();
    long begin = System.nanoTime();
    long start = begin + TimeUnit.MILLISECONDS.toNanos(warmupMillis);
    long end = start + TimeUnit.MILLISECONDS.toNanos(millis);
    long interval = rate > 0 ? (long) (connections * 1e9 / rate) : 0;
    // All connections share one event loop, so the timeline needs no synchronisation.
    int capacity = keepTimeline ? (int) Math.min(50_000_000, rate * millis / 1000 * 1.2 + 1024) : 0;
    TimelineSink sink = new TimelineSink(start, capacity);
    CountDownLatch finished = new CountDownLatch(connections);
    List<Channel> channels = new ArrayList<>();
    for (int i = 0; i < connections; i++) {
      long first = rate > 0 ? begin + (long) (i * 1e9 / rate) : begin;
      Conn conn =
          new Conn(first, interval, start, end, recorder, ok, errors, served, finished, sink);
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
      channels.add(ch);
      ch.eventLoop().execute(conn::scheduleNext);
    }
    finished.await(warmupMillis + millis + 60_000, TimeUnit.MILLISECONDS);
    double seconds = (System.nanoTime() - start) / 1e9;
    for (Channel ch : channels) {
      ch.close();
    }
    return new Result(
        Math.min(seconds, millis / 1000.0 + 0.001),
        ok.get(),
        errors.get(),
        recorder.getIntervalHistogram(),
        served.get(),
        keepTimeline ? new Timeline(start, sink.sent, sink.latency, sink.size) : null);
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
    private final long interval;
    private final long measureFrom;
    private final long end;
    private final Recorder recorder;
    private final AtomicLong ok;
    private final AtomicLong errors;
    private final AtomicLong served;
    private final CountDownLatch finished;
    private final TimelineSink sink;
    private long intended;
    private boolean failed;
    private ChannelHandlerContext ctx;
    private boolean done;

    Conn(
        long first,
        long interval,
        long measureFrom,
        long end,
        Recorder recorder,
        AtomicLong ok,
        AtomicLong errors,
        AtomicLong served,
        CountDownLatch finished,
        TimelineSink sink) {
      this.intended = first;
      this.sink = sink;
      this.interval = interval;
      this.measureFrom = measureFrom;
      this.end = end;
      this.recorder = recorder;
      this.ok = ok;
      this.errors = errors;
      this.served = served;
      this.finished = finished;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    void scheduleNext() {
      if (intended >= end) {
        finish();
        return;
      }
      long wait = intended - System.nanoTime();
      if (wait > 0) {
        ctx.executor().schedule(this::send, wait, TimeUnit.NANOSECONDS);
      } else {
        send();
      }
    }

    private void send() {
      if (interval == 0) {
        intended = System.nanoTime(); // closed loop: a request starts when it is sent
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
        served.incrementAndGet();
        if (intended < measureFrom) {
          // warm-up: not counted
        } else if (failed) {
          errors.incrementAndGet();
        } else {
          ok.incrementAndGet();
          long micros = Math.max(1, (now - intended) / 1000);
          recorder.recordValue(micros);
          sink.add(intended, micros);
        }
        intended = interval == 0 ? now : intended + interval;
        scheduleNext();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext c) {
      if (!done) {
        errors.incrementAndGet();
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
        finished.countDown();
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
