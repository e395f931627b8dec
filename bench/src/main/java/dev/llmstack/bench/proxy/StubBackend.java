package dev.llmstack.bench.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A fast fake OpenAI backend for measuring proxies: small JSON answers at once, or an SSE stream of
 * {@code events} chunks {@code gapMillis} apart, plus /v1/models and /health so a router can
 * discover it. Costs next to nothing, so a proxy in front of it is measured, not the backend.
 */
public final class StubBackend implements AutoCloseable {

  static final String MODEL = "stub-model";
  private static final byte[] JSON =
      ("{\"id\":\"chatcmpl-stub\",\"object\":\"chat.completion\",\"created\":1,\"model\":\""
              + MODEL
              + "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},"
              + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,"
              + "\"total_tokens\":6}}")
          .getBytes(StandardCharsets.UTF_8);
  private static final byte[] MODELS =
      ("{\"object\":\"list\",\"data\":[{\"id\":\""
              + MODEL
              + "\",\"object\":\"model\",\"owned_by\":\"stub\"}]}")
          .getBytes(StandardCharsets.UTF_8);
  private static final byte[] EVENT =
      ("data: {\"id\":\"chatcmpl-stub\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\""
              + MODEL
              + "\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok\"},\"finish_reason\":null}]}\n\n")
          .getBytes(StandardCharsets.UTF_8);
  private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);

  private final BenchLoop loop;
  private final boolean ownsLoop;
  private final Channel channel;
  private final int events;
  private final long gapMillis;

  /** A backend on a loop of its own. */
  public StubBackend(int events, long gapMillis) throws InterruptedException {
    this(new BenchLoop(), true, events, gapMillis);
  }

  /** A backend on a loop it may share (with a load generator) and does not shut down. */
  public StubBackend(BenchLoop loop, int events, long gapMillis) throws InterruptedException {
    this(loop, false, events, gapMillis);
  }

  private StubBackend(BenchLoop loop, boolean ownsLoop, int events, long gapMillis)
      throws InterruptedException {
    this.events = events;
    this.gapMillis = gapMillis;
    this.loop = loop;
    this.ownsLoop = ownsLoop;
    this.channel =
        new ServerBootstrap()
            .group(loop.group())
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 4096)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpObjectAggregator(1 << 20))
                        .addLast(new Handler());
                  }
                })
            .bind("127.0.0.1", 0)
            .sync()
            .channel();
  }

  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  public String url() {
    return "http://127.0.0.1:" + port();
  }

  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      String uri = req.uri();
      if (uri.startsWith("/v1/models")) {
        full(ctx, MODELS);
      } else if (uri.startsWith("/health") || uri.startsWith("/metrics")) {
        full(ctx, new byte[0]);
      } else if (req.content().toString(StandardCharsets.UTF_8).contains("\"stream\":true")) {
        DefaultHttpResponse head =
            new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers()
            .set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
            .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        ctx.writeAndFlush(head);
        sendEvent(ctx, 0);
      } else {
        full(ctx, JSON);
      }
    }

    private void sendEvent(ChannelHandlerContext ctx, int i) {
      if (i == events) {
        ctx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(DONE)));
        ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        return;
      }
      ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(EVENT)));
      ctx.executor().schedule(() -> sendEvent(ctx, i + 1), gapMillis, TimeUnit.MILLISECONDS);
    }

    /**
     * A peer that resets its connection (a load generator closing a run's connections with requests
     * in flight, a proxy dropping an upstream one) is part of a benchmark's end, not an error worth
     * Netty's warning and stack trace in the middle of its output.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (cause instanceof java.io.IOException) {
        ctx.close();
      } else {
        ctx.fireExceptionCaught(cause);
      }
    }

    private void full(ChannelHandlerContext ctx, byte[] body) {
      ByteBuf buf = Unpooled.wrappedBuffer(body);
      FullHttpResponse r =
          new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, buf);
      r.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
          .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
      ctx.writeAndFlush(r);
    }
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly();
    if (ownsLoop) {
      loop.close();
    }
  }
}
