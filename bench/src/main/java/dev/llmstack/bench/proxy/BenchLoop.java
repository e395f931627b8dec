package dev.llmstack.bench.proxy;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.util.concurrent.TimeUnit;

/**
 * One event-loop thread for the benchmark's own side, which load generators and stub backends
 * share. On a core of their own, several busy threads (a generator and two stubs) take turns under
 * the kernel's scheduler, and every turn one of them waits for is latency that no proxy caused: a
 * direct request's p99 was 2.4 ms that way, and 0.05-0.2 ms in quiet rounds with one thread
 * multiplexing every socket (docs/benchmarks/router, session 6).
 *
 * <p>NIO, not epoll, on purpose: an open-loop generator must send on time. Netty's NIO loop polls
 * without sleeping once its next timer is under half a millisecond away, which at the rates
 * measured here is always; the epoll loop sleeps on a timerfd, which the kernel's default timer
 * slack lets fire about 50 µs late, and that lateness would be charged to every request.
 */
public final class BenchLoop implements AutoCloseable {

  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

  EventLoopGroup group() {
    return group;
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }
}
