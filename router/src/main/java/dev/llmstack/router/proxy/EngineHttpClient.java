package dev.llmstack.router.proxy;

import dev.llmstack.router.backend.IdleConnections;
import dev.llmstack.router.discovery.Endpoint;
import dev.llmstack.router.threads.BackgroundThreads;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The engine monitor's HTTP/1.1 GET client: one event loop of its own, keep-alive connections
 * reused per engine, a deadline per request.
 *
 * <p>It speaks HTTP with the proxy's own machinery: the same transport (epoll where there is one)
 * and the same {@link ResponseFramer}, with the request written as bytes. A monitor sends a few
 * requests a second, too few for the JIT to ever make a code path of its own hot: with Netty's HTTP
 * codec and aggregator over NIO, each probe or scrape took about a millisecond of cold code, on the
 * core the proxy's event loop shares when the router is pinned, and every such spell held up the
 * proxied requests behind it (docs/benchmarks/router, session 11). The proxy's code is compiled
 * already: in a profile of a benchmark run, the monitor thread's CPU time halved.
 *
 * <p>Why not the JDK's {@code HttpClient}: each of its requests hops between its selector thread,
 * the executor's carrier and virtual threads and the caller (session 6). Here a request is one task
 * on one thread, and everything but {@link #get}'s hand-off runs on that thread, so the idle pool
 * needs no lock.
 */
public final class EngineHttpClient implements AutoCloseable {

  /** A response: status code and the body as text (chunked bodies joined). */
  public record Response(int status, String body) {}

  /** Larger than any vLLM /metrics page (a few hundred KB with many LoRA adapters and buckets). */
  private static final int MAX_BODY_BYTES = 16 << 20;

  /** Idle connections kept per engine: a probe, a scrape and a model fetch may overlap. */
  private static final int MAX_IDLE_PER_ENGINE = 2;

  private final EventLoopGroup group;
  private final EventLoop loop;
  private final Bootstrap bootstrap;
  private final IdleConnections idle = new IdleConnections(MAX_IDLE_PER_ENGINE);

  /** A client whose one thread is a background thread of the given scheduling. */
  public EngineHttpClient(long connectTimeoutMs, BackgroundThreads threads) {
    Transport transport = Transport.best();
    group =
        new MultiThreadIoEventLoopGroup(
            1,
            // below the event loops (BackgroundThreads, docs/configuration.md)
            threads.factory("engine-monitor"),
            transport.io());
    loop = group.next();
    bootstrap =
        new Bootstrap()
            .group(loop)
            .channel(transport.clientChannel())
            .option(ChannelOption.TCP_NODELAY, true)
            // A few small requests a second: Netty's pooling allocator set up fresh chunks for
            // them on this thread (a visible share of its CPU in a profile); unpooled buffers
            // cost nothing to set up.
            .option(ChannelOption.ALLOCATOR, new UnpooledByteBufAllocator(false))
            .option(
                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                (int) Math.min(Integer.MAX_VALUE, Math.max(1, connectTimeoutMs)))
            .handler(
                new ChannelInitializer<>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ch.pipeline().addLast(new Exchange());
                  }
                });
  }

  /** The loop every request runs on; schedule periodic work here to stay on one thread. */
  public EventLoop loop() {
    return loop;
  }

  /**
   * GETs {@code path} from {@code engine}; completes on the loop thread with the response, or
   * exceptionally on a connect failure, a broken connection or response, or after {@code
   * timeoutMs}.
   */
  public CompletableFuture<Response> get(Endpoint engine, String path, long timeoutMs) {
    CompletableFuture<Response> result = new CompletableFuture<>();
    if (loop.inEventLoop()) {
      start(engine, path, timeoutMs, result);
    } else {
      loop.execute(() -> start(engine, path, timeoutMs, result));
    }
    return result;
  }

  private void start(
      Endpoint engine, String path, long timeoutMs, CompletableFuture<Response> result) {
    if (loop.isShuttingDown()) {
      result.completeExceptionally(new IllegalStateException("monitor closed"));
      return;
    }
    Channel pooled = idle.poll(engine.id());
    if (pooled != null) {
      // The engine may have closed this idle connection a moment ago (uvicorn does after 5 s):
      // then the request goes again on a new connection rather than reporting the engine down.
      send(pooled, engine, path, timeoutMs, result, () -> connect(engine, path, timeoutMs, result));
    } else {
      connect(engine, path, timeoutMs, result);
    }
  }

  private void connect(
      Endpoint engine, String path, long timeoutMs, CompletableFuture<Response> result) {
    ChannelFuture connect = bootstrap.connect(engine.host(), engine.port());
    connect.addListener(
        f -> {
          if (f.isSuccess()) {
            send(connect.channel(), engine, path, timeoutMs, result, null);
          } else {
            result.completeExceptionally(f.cause());
          }
        });
  }

  private void send(
      Channel ch,
      Endpoint engine,
      String path,
      long timeoutMs,
      CompletableFuture<Response> result,
      Runnable retry) {
    Exchange exchange = ch.pipeline().get(Exchange.class);
    exchange.begin(engine.id(), result, timeoutMs, retry);
    String head =
        "GET " + path + " HTTP/1.1\r\nHost: " + engine.host() + ":" + engine.port() + "\r\n\r\n";
    ByteBuf request = ch.alloc().buffer(head.length());
    ByteBufUtil.writeAscii(request, head);
    ch.writeAndFlush(request)
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                exchange.fail(f.cause());
              }
            });
  }

  /** Closes the idle connections to an engine no longer watched. */
  public void forget(String engine) {
    loop.execute(() -> idle.closeAll(engine));
  }

  /** One connection's request in flight, if any, and its response as it is read. */
  private final class Exchange extends ChannelInboundHandlerAdapter {
    private ChannelHandlerContext ctx;
    private ResponseFramer framer;
    private final ResponseFramer.DataSink collect = this::collect;
    private String engine;
    private CompletableFuture<Response> result;
    private ScheduledFuture<?> deadline;
    private Runnable retry;
    private boolean headSeen;
    private ByteBuf body;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
      this.framer = new ResponseFramer(ctx.alloc());
    }

    void begin(String engine, CompletableFuture<Response> result, long timeoutMs, Runnable retry) {
      this.engine = engine;
      this.result = result;
      this.retry = retry;
      this.headSeen = false;
      framer.reset(collect);
      this.deadline =
          ctx.executor()
              .schedule(
                  () -> fail(new TimeoutException("no response within " + timeoutMs + " ms")),
                  timeoutMs,
                  TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      try {
        if (result == null) {
          ctx.close(); // nothing asked for this
          return;
        }
        framer.feed(in);
        headSeen |= framer.headReady();
        if (framer.ended()) {
          complete(framer.keepAlive() && !framer.extraBytes());
        }
      } catch (RuntimeException e) { // a malformed response, or a body over the limit
        fail(e);
      } finally {
        framer.readDone();
        in.release();
      }
    }

    private void collect(ByteBuf buf, int from, int to) {
      if (body == null) {
        body = ctx.alloc().heapBuffer(Math.min(MAX_BODY_BYTES, Math.max(256, to - from)));
      }
      if (body.readableBytes() + (to - from) > MAX_BODY_BYTES) {
        throw new IllegalStateException("response body over " + MAX_BODY_BYTES + " bytes");
      }
      body.writeBytes(buf, from, to - from);
    }

    private void complete(boolean reuse) {
      Response response =
          new Response(framer.status(), body == null ? "" : body.toString(StandardCharsets.UTF_8));
      CompletableFuture<Response> done = finish();
      if (reuse) {
        idle.offer(engine, ctx.channel());
      } else {
        ctx.close();
      }
      done.complete(response);
    }

    void fail(Throwable cause) {
      Runnable again = retry;
      boolean answered = framer.sawBytes();
      CompletableFuture<Response> done = finish();
      ctx.close();
      if (done == null) {
        return;
      }
      if (again != null && !answered && !(cause instanceof TimeoutException)) {
        again.run();
      } else {
        done.completeExceptionally(cause);
      }
    }

    private CompletableFuture<Response> finish() {
      CompletableFuture<Response> done = result;
      result = null;
      retry = null;
      if (deadline != null) {
        deadline.cancel(false);
        deadline = null;
      }
      if (body != null) {
        body.release();
        body = null;
      }
      return done;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (result != null && headSeen && framer.framing() == ResponseFramer.Framing.UNTIL_CLOSE) {
        complete(false); // a body without a length ends when the engine closes
      } else {
        fail(new IOException("connection closed before the response"));
      }
      framer.release();
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      fail(cause);
    }
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }
}
