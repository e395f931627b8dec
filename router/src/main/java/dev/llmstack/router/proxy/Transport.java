package dev.llmstack.router.proxy;

import io.netty.channel.Channel;
import io.netty.channel.DefaultSelectStrategyFactory;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.SelectStrategyFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.nio.channels.spi.SelectorProvider;

/** Netty's native epoll transport where the platform has it, NIO elsewhere. */
record Transport(
    IoHandlerFactory io,
    Class<? extends ServerChannel> serverChannel,
    Class<? extends Channel> clientChannel) {

  static Transport best() {
    return best(DefaultSelectStrategyFactory.INSTANCE);
  }

  /** {@code waits}: how an event loop waits for I/O (SpinThenBlock polls first). */
  static Transport best(SelectStrategyFactory waits) {
    if (Epoll.isAvailable()) {
      return new Transport(
          EpollIoHandler.newFactory(0, waits),
          EpollServerSocketChannel.class,
          EpollSocketChannel.class);
    }
    return new Transport(
        NioIoHandler.newFactory(SelectorProvider.provider(), waits),
        NioServerSocketChannel.class,
        NioSocketChannel.class);
  }
}
