package dev.llmstack.engine.server;

import dev.llmstack.engine.driver.RealTimeDriver;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The simulated engine's HTTP front on Netty: vLLM's OpenAI-compatible API, /metrics, /health and
 * the fault admin endpoint, over a {@link RealTimeDriver}.
 */
public final class EngineServer implements AutoCloseable {

  /** Version reported by /version: the vLLM release whose interfaces this simulator follows. */
  public static final String VLLM_VERSION = "0.11.0";

  /**
   * HTTP settings.
   *
   * @param maxBodyBytes request bodies larger than this get 413
   * @param promptTokensDetails report usage.prompt_tokens_details.cached_tokens (vLLM's
   *     --enable-prompt-tokens-details)
   * @param drainSeconds on close, how long in-flight requests may run to completion
   */
  public record Options(
      String host,
      int port,
      int maxBodyBytes,
      boolean promptTokensDetails,
      int drainSeconds,
      int ioThreads) {
    public static Options defaults(String host, int port) {
      return new Options(host, port, 64 << 20, true, 30, 1);
    }
  }

  private final Options options;
  private final ServedModel model;
  private final RealTimeDriver driver;
  private final MetricsWriter metrics;
  private final Faults faults = new Faults();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final EventLoopGroup group;
  private final Class<? extends ServerChannel> channelType;
  private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final ExecutorService tokenizerPool;
  private volatile Channel serverChannel;
  private volatile boolean refusing;
  private volatile boolean closing;
  private int boundPort;

  public EngineServer(
      Options options, ServedModel model, RealTimeDriver driver, MetricsWriter metrics) {
    this.options = options;
    this.model = model;
    this.driver = driver;
    this.metrics = metrics;
    IoHandlerFactory io;
    if (Epoll.isAvailable()) {
      io = EpollIoHandler.newFactory();
      channelType = EpollServerSocketChannel.class;
    } else {
      io = NioIoHandler.newFactory();
      channelType = NioServerSocketChannel.class;
    }
    this.group = new MultiThreadIoEventLoopGroup(options.ioThreads(), io);
    int workers = Math.max(2, Runtime.getRuntime().availableProcessors());
    AtomicInteger n = new AtomicInteger();
    this.tokenizerPool =
        Executors.newFixedThreadPool(
            workers,
            r ->
                Thread.ofPlatform()
                    .name("tokenize-" + n.incrementAndGet())
                    .daemon(true)
                    .unstarted(r));
  }

  /** Binds the listening socket; returns this server. */
  public EngineServer start() throws InterruptedException {
    bind(options.port());
    return this;
  }

  private void bind(int port) throws InterruptedException {
    ServerBootstrap b =
        new ServerBootstrap()
            .group(group)
            .channel(channelType)
            .option(ChannelOption.SO_BACKLOG, 4096)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    connections.add(ch);
                    ch.pipeline()
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpServerKeepAliveHandler())
                        .addLast(new HttpObjectAggregator(options.maxBodyBytes()))
                        .addLast(new EngineHttpHandler(EngineServer.this));
                  }
                });
    serverChannel = b.bind(options.host(), port).sync().channel();
    boundPort = ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  public int port() {
    return boundPort;
  }

  public String host() {
    return options.host();
  }

  public String baseUrl() {
    return "http://" + options.host() + ":" + boundPort;
  }

  Options options() {
    return options;
  }

  ServedModel model() {
    return model;
  }

  RealTimeDriver driver() {
    return driver;
  }

  MetricsWriter metrics() {
    return metrics;
  }

  Faults faults() {
    return faults;
  }

  ExecutorService tokenizerPool() {
    return tokenizerPool;
  }

  AtomicInteger inFlight() {
    return inFlight;
  }

  boolean refusing() {
    return refusing;
  }

  /** Applies fault settings (from flags or the admin endpoint). */
  public synchronized void applyFaults(Faults.Settings s) throws InterruptedException {
    if (s.crashAfterTokens() != null) {
      faults.crashAfter(s.crashAfterTokens());
      if (s.crashAfterTokens() == 0) {
        crash();
      }
    }
    if (s.hang() != null) {
      driver.setHung(s.hang());
    }
    if (s.slowdown() != null) {
      driver.setSlowdown(s.slowdown());
    }
    if (s.errorRate() != null) {
      faults.errorRate(s.errorRate());
    }
    if (s.refuseConnections() != null && s.refuseConnections() != refusing) {
      refusing = s.refuseConnections();
      if (refusing) {
        serverChannel.close().sync();
      } else if (!faults.crashed() && !closing) {
        bind(boundPort);
      }
    }
  }

  /** Called on the engine thread for every generated token: fires an armed crash. */
  void onTokenGenerated() {
    if (faults.tokenGenerated()) {
      Thread.ofPlatform().daemon(true).start(this::crash);
    }
  }

  /**
   * Dies like a killed process: the listening socket and every connection close at once, in-flight
   * work is dropped. The object stays for inspection; {@link #close()} still releases threads.
   */
  public void crash() {
    faults.markCrashed();
    Channel ch = serverChannel;
    if (ch != null) {
      ch.close().awaitUninterruptibly();
    }
    connections.close().awaitUninterruptibly();
    driver.setHung(true);
  }

  public boolean crashed() {
    return faults.crashed();
  }

  /**
   * Stops accepting connections, lets in-flight requests finish (up to the drain time), then stops
   * the engine and the event loops.
   */
  @Override
  public void close() {
    closing = true;
    Channel ch = serverChannel;
    if (ch != null) {
      ch.close().awaitUninterruptibly();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.drainSeconds());
    while (inFlight.get() > 0 && System.nanoTime() < deadline && !faults.crashed()) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    connections.close().awaitUninterruptibly();
    driver.close();
    tokenizerPool.shutdownNow();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
  }
}
