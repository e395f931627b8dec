package dev.llmstack.router.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * Sits at the end of an upstream connection's pipeline, reads the framing of each response as its
 * bytes arrive (ResponseFramer) and hands them to the current exchange.
 */
final class UpstreamHandler extends ChannelInboundHandlerAdapter {

  private ProxyExchange exchange;
  private ResponseFramer framer;

  /**
   * The handler of an upstream connection: always last in its pipeline (UpstreamPool), so no walk
   * of the pipeline by class, which showed in profiles at two lookups per request. Null once the
   * channel closed and its pipeline was torn down.
   */
  static UpstreamHandler of(Channel ch) {
    return ch.pipeline().last() instanceof UpstreamHandler h ? h : null;
  }

  /** Gives the connection to {@code exchange}, whose response starts now; null when none. */
  void exchange(ProxyExchange exchange, ResponseFramer.DataSink payload) {
    this.exchange = exchange;
    if (exchange != null && framer != null) {
      framer.reset(payload);
    }
  }

  ResponseFramer framer() {
    return framer;
  }

  void exchange(ProxyExchange exchange) {
    exchange(exchange, null);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    framer = new ResponseFramer(ctx.alloc());
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    framer.release();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ProxyExchange ex = exchange;
    if (ex == null || !(msg instanceof ByteBuf in)) {
      ReferenceCountUtil.release(msg); // nobody is waiting: an idle connection got something
      ctx.close();
      return;
    }
    try {
      try {
        framer.feed(in);
      } catch (MalformedHttpException e) {
        framer.release();
        ctx.close();
        ex.onUpstreamClosed(e);
        return;
      }
      ex.onUpstream(framer);
    } finally {
      in.release();
      framer.readDone();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    ProxyExchange ex = exchange;
    if (ex != null) {
      ex.onUpstreamClosed(null);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ProxyExchange ex = exchange;
    ctx.close();
    if (ex != null) {
      ex.onUpstreamClosed(cause);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    ctx.fireChannelWritabilityChanged();
  }
}
