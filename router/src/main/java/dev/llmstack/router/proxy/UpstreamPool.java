package dev.llmstack.router.proxy;

import dev.llmstack.router.backend.IdleConnections;
import dev.llmstack.router.discovery.Endpoint;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;

/**
 * Keep-alive connections to engines, one pool per event loop: a client connection and the upstream
 * connections it uses live on the same thread, so proxying never crosses threads and the pool needs
 * no locks.
 */
final class UpstreamPool {

  private final EventLoop loop;
  private final Bootstrap bootstrap;
  private final IdleConnections idle;

  UpstreamPool(
      EventLoop loop,
      Class<? extends io.netty.channel.Channel> channelType,
      int connectTimeoutMs,
      int maxIdlePerEndpoint) {
    this.loop = loop;
    this.idle = new IdleConnections(maxIdlePerEndpoint);
    this.bootstrap =
        new Bootstrap()
            .group(loop)
            .channel(channelType)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMs)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    // Bytes both ways: requests go out encoded by ProxyExchange, responses come
                    // back framed by UpstreamHandler's ResponseFramer and are relayed as they are.
                    ch.pipeline().addLast(new UpstreamHandler());
                  }
                });
  }

  /** An idle connection to {@code endpoint}, or null. Must run on this pool's event loop. */
  Channel pollIdle(Endpoint endpoint) {
    return idle.poll(endpoint.id());
  }

  ChannelFuture connect(Endpoint endpoint) {
    return bootstrap.connect(endpoint.host(), endpoint.port());
  }

  /** Returns a connection whose response completed; closes it when the pool is full. */
  void release(Endpoint endpoint, Channel ch) {
    UpstreamHandler handler = UpstreamHandler.of(ch);
    if (handler != null) {
      handler.exchange(null); // pooled or closed, it belongs to no exchange now
    }
    idle.offer(endpoint.id(), ch);
  }

  /** Closes idle connections to an engine that left. */
  void forget(String endpointId) {
    loop.execute(() -> idle.closeAll(endpointId));
  }
}
