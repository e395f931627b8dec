package dev.llmstack.bench.client;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A lean load client for server-sent-event streams: one connection per stream, counting events as
 * bytes arrive without parsing JSON, so a single core can drive thousands of concurrent streams.
 * Used to measure how many streams an engine sustains.
 */
public final class SseStreamClient implements AutoCloseable {

  /** The outcome of one stream. */
  public record StreamResult(
      int status, long startNanos, long firstEventNanos, long lastEventNanos, long events) {}

  private final EventLoopGroup group;
  private final String host;
  private final int port;
  private final LongAdder totalEvents = new LongAdder();

  public SseStreamClient(String host, int port, int threads) {
    this.host = host;
    this.port = port;
    this.group = new MultiThreadIoEventLoopGroup(threads, NioIoHandler.newFactory());
  }

  /** Events received over all streams so far. */
  public long totalEvents() {
    return totalEvents.sum();
  }

  /** POSTs {@code body} to {@code path} and follows the event stream to its end. */
  public CompletableFuture<StreamResult> stream(String path, byte[] body) {
    CompletableFuture<StreamResult> result = new CompletableFuture<>();
    long start = System.nanoTime();
    Bootstrap b =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new HttpClientCodec())
                        .addLast(new StreamHandler(start, result));
                  }
                });
    b.connect(host, port)
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                result.completeExceptionally(f.cause());
                return;
              }
              Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
              FullHttpRequest req =
                  new DefaultFullHttpRequest(
                      HttpVersion.HTTP_1_1, HttpMethod.POST, path, Unpooled.wrappedBuffer(body));
              req.headers()
                  .set(HttpHeaderNames.HOST, host + ":" + port)
                  .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                  .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
                  .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
              ch.writeAndFlush(req);
            });
    return result;
  }

  private final class StreamHandler extends SimpleChannelInboundHandler<HttpObject> {
    private final long start;
    private final CompletableFuture<StreamResult> result;
    private int status;
    private long first = -1;
    private long last = -1;
    private long events;
    private byte prev;

    StreamHandler(long start, CompletableFuture<StreamResult> result) {
      this.start = start;
      this.result = result;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
      if (msg instanceof HttpResponse r) {
        status = r.status().code();
      }
      if (msg instanceof HttpContent c) {
        ByteBuf buf = c.content();
        long n = countEvents(buf);
        if (n > 0) {
          long now = System.nanoTime();
          if (first < 0) {
            first = now;
          }
          last = now;
          events += n;
          totalEvents.add(n);
        }
        if (msg instanceof LastHttpContent) {
          result.complete(new StreamResult(status, start, first, last, events));
          ctx.close();
        }
      }
    }

    /** Counts blank-line event terminators ("\n\n"), also across chunk boundaries. */
    private long countEvents(ByteBuf buf) {
      long n = 0;
      for (int i = buf.readerIndex(), end = buf.writerIndex(); i < end; i++) {
        byte b = buf.getByte(i);
        if (b == '\n' && prev == '\n') {
          n++;
          b = 0;
        }
        prev = b;
      }
      return n;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (!result.isDone()) {
        result.complete(new StreamResult(status == 0 ? -1 : status, start, first, last, events));
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      result.completeExceptionally(cause);
      ctx.close();
    }
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }
}
