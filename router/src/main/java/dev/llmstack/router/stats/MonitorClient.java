package dev.llmstack.router.stats;

import dev.llmstack.router.backend.IdleConnections;
import dev.llmstack.router.discovery.Endpoint;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The engine monitor's HTTP/1.1 GET client: one Netty event loop of its own, keep-alive connections
 * reused per engine, a deadline per request.
 *
 * <p>Why not the JDK's {@code HttpClient}: each of its requests hops between its selector thread,
 * the executor's carrier and virtual threads and the caller, and at a few requests per second its
 * code never gets hot. With the router pinned to one core, those threads woke every second and the
 * kernel let them preempt the proxy's event loop: a spell of slow proxied requests each time. Here
 * a request is one task on one thread (docs/benchmarks/router, session 6).
 *
 * <p>Everything but {@link #get}'s hand-off runs on the loop thread, so the idle pool needs no
 * lock. NIO rather than epoll: millisecond timers are all a monitor needs.
 */
final class MonitorClient implements AutoCloseable {

  /** A response: status code and the body as text. */
  record Response(int status, String body) {}

  /** Larger than any vLLM /metrics page (a few hundred KB with many LoRA adapters and buckets). */
  private static final int MAX_BODY_BYTES = 16 << 20;

  /** Idle connections kept per engine: a probe, a scrape and a model fetch may overlap. */
  private static final int MAX_IDLE_PER_ENGINE = 2;

  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(
          1, new DefaultThreadFactory("engine-monitor", true), NioIoHandler.newFactory());
  private final EventLoop loop = group.next();
  private final Bootstrap bootstrap;
  private final IdleConnections idle = new IdleConnections(MAX_IDLE_PER_ENGINE);

  MonitorClient(long connectTimeoutMs) {
    this.bootstrap =
        new Bootstrap()
            .group(loop)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            // A few small requests a second: Netty's pooling allocator set up fresh chunks for
            // them on this thread (a visible share of its CPU in a profile); plain heap buffers
            // cost nothing to set up.
            .option(ChannelOption.ALLOCATOR, new UnpooledByteBufAllocator(false))
            .option(
                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                (int) Math.min(Integer.MAX_VALUE, Math.max(1, connectTimeoutMs)))
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new HttpClientCodec())
                        .addLast(new HttpObjectAggregator(MAX_BODY_BYTES))
                        .addLast(new Exchange());
                  }
                });
  }

  /** The loop every request runs on; schedule periodic work here to stay on one thread. */
  EventLoop loop() {
    return loop;
  }

  /**
   * GETs {@code path} from {@code engine}; completes on the loop thread with the response, or
   * exceptionally on a connect failure, a broken connection or after {@code timeoutMs}.
   */
  CompletableFuture<Response> get(Endpoint engine, String path, long timeoutMs) {
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
    DefaultFullHttpRequest req =
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
    req.headers().set(HttpHeaderNames.HOST, engine.host() + ":" + engine.port());
    ch.writeAndFlush(req)
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                exchange.fail(f.cause());
              }
            });
  }

  /** Closes the idle connections to an engine no longer watched. */
  void forget(String engine) {
    loop.execute(() -> idle.closeAll(engine));
  }

  /** One connection's request in flight, if any. */
  private final class Exchange extends SimpleChannelInboundHandler<FullHttpResponse> {
    private String engine;
    private CompletableFuture<Response> result;
    private ScheduledFuture<?> deadline;
    private Runnable retry;
    private ChannelHandlerContext ctx;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    void begin(String engine, CompletableFuture<Response> result, long timeoutMs, Runnable retry) {
      this.engine = engine;
      this.result = result;
      this.retry = retry;
      this.deadline =
          ctx.executor()
              .schedule(
                  () -> fail(new TimeoutException("no response within " + timeoutMs + " ms")),
                  timeoutMs,
                  TimeUnit.MILLISECONDS);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
      CompletableFuture<Response> done = finish();
      if (done == null) {
        ctx.close(); // nothing asked for this
        return;
      }
      boolean keepAlive = HttpUtil.isKeepAlive(r) && r.decoderResult().isSuccess();
      Response response =
          new Response(r.status().code(), r.content().toString(StandardCharsets.UTF_8));
      if (keepAlive) {
        idle.offer(engine, ctx.channel());
      } else {
        ctx.close();
      }
      done.complete(response);
    }

    void fail(Throwable cause) {
      Runnable again = retry;
      CompletableFuture<Response> done = finish();
      ctx.close();
      if (done == null) {
        return;
      }
      if (again != null && !(cause instanceof TimeoutException)) {
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
      return done;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      fail(new java.io.IOException("connection closed before the response"));
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
