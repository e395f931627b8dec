package dev.llmstack.router.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * Sits at the end of an upstream connection's pipeline and hands what arrives to the current
 * exchange.
 */
final class UpstreamHandler extends ChannelInboundHandlerAdapter {

  private ProxyExchange exchange;

  /**
   * The handler of an upstream connection: always last in its pipeline (UpstreamPool), so no walk
   * of the pipeline by class, which showed in profiles at two lookups per request. Null once the
   * channel closed and its pipeline was torn down.
   */
  static UpstreamHandler of(Channel ch) {
    return ch.pipeline().last() instanceof UpstreamHandler h ? h : null;
  }

  void exchange(ProxyExchange exchange) {
    this.exchange = exchange;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ProxyExchange ex = exchange;
    if (ex == null) {
      ReferenceCountUtil.release(msg); // nobody is waiting: an idle connection got something
      ctx.close();
      return;
    }
    ex.onUpstream(msg);
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
