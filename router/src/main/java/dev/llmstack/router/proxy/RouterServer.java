package dev.llmstack.router.proxy;

import dev.llmstack.router.RouterSettings;
import dev.llmstack.router.admin.AdminApi;
import dev.llmstack.router.backend.BackendRegistry;
import dev.llmstack.router.routing.Policies;
import dev.llmstack.router.routing.RoutingPolicy;
import dev.llmstack.router.stats.RouterMetrics;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultSelectStrategyFactory;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpResponseEncoder;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The router's HTTP data plane on Netty. */
public final class RouterServer implements RouterContext, AutoCloseable {

  /** What cache-aware policies need: prompt keys, computed on a worker pool off the event loops. */
  public record CacheAware(
      dev.llmstack.router.kvindex.PromptKeys keys,
      java.util.concurrent.ExecutorService pool,
      dev.llmstack.router.kvindex.ApproximatePrefixIndex approximate) {}

  private final CacheAware cacheAware;
  private volatile dev.llmstack.router.stats.AccessLog accessLog;

  /** Turns the access log on (before traffic). */
  public void accessLog(dev.llmstack.router.stats.AccessLog log) {
    this.accessLog = log;
  }

  @Override
  public dev.llmstack.router.stats.AccessLog accessLog() {
    return accessLog;
  }

  /**
   * Renders /metrics and the dashboard off the event loops; one thread, so concurrent requests
   * queue up.
   */
  private final java.util.concurrent.ExecutorService renderExecutor =
      java.util.concurrent.Executors.newSingleThreadExecutor(
          r -> Thread.ofPlatform().name("render").daemon(true).unstarted(r));

  java.util.concurrent.ExecutorService renderExecutor() {
    return renderExecutor;
  }

  private volatile RouterObserver observer;
  private volatile dev.llmstack.router.ui.DashboardHandler dashboard;

  /** Serves /dashboard and feeds it routing decisions through {@code tap} (before traffic). */
  public void dashboard(dev.llmstack.router.ui.DashboardHandler handler, RouterObserver tap) {
    this.dashboard = handler;
    this.observer = RouterObserver.tee(metrics, tap);
  }

  /** The dashboard, or null when off. */
  dev.llmstack.router.ui.DashboardHandler dashboard() {
    return dashboard;
  }

  private final RouterSettings settings;
  private final BackendRegistry registry;
  private final Policies policies;
  private final RoutingPolicy defaultPolicy;
  private final RouterMetrics metrics;
  private final AdminApi admin;
  private final RetryBudget retryBudget;
  private final EventLoopGroup group;
  private final Class<? extends ServerChannel> serverChannelType;
  private final Class<? extends Channel> clientChannelType;
  private final ConcurrentHashMap<EventLoop, UpstreamPool> pools = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<EventLoop, HeadDeadlines> deadlines = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<EventLoop, HeadDeadlines> clientDeadlines =
      new ConcurrentHashMap<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final String host;
  private final int requestedPort;
  private Channel serverChannel;

  public RouterServer(
      RouterSettings settings,
      String host,
      int port,
      int ioThreads,
      int maxBodyBytes,
      BackendRegistry registry,
      Policies policies,
      RoutingPolicy defaultPolicy,
      RouterMetrics metrics,
      AdminApi admin,
      double retryBudgetRatio,
      CacheAware cacheAware) {
    this.cacheAware = cacheAware;
    this.settings = settings;
    this.host = host;
    this.requestedPort = port;
    this.registry = registry;
    this.policies = policies;
    this.defaultPolicy = defaultPolicy;
    this.metrics = metrics;
    this.observer = metrics;
    this.admin = admin;
    this.retryBudget = new RetryBudget(retryBudgetRatio, 10);
    long spinNanos = settings.busyPollMicros() * 1000;
    Transport transport =
        Transport.best(
            spinNanos > 0
                ? () -> new SpinThenBlock(spinNanos)
                : DefaultSelectStrategyFactory.INSTANCE);
    serverChannelType = transport.serverChannel();
    clientChannelType = transport.clientChannel();
    int threads = ioThreads > 0 ? ioThreads : Runtime.getRuntime().availableProcessors();
    this.group = new MultiThreadIoEventLoopGroup(threads, transport.io());
    this.maxBodyBytes = maxBodyBytes;
  }

  private final int maxBodyBytes;

  public RouterServer start() throws InterruptedException {
    ServerBootstrap b =
        new ServerBootstrap()
            .group(group)
            .channel(serverChannelType)
            .option(ChannelOption.SO_BACKLOG, 4096)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    // Requests are read from bytes (RequestFramer). Proxied responses go out as
                    // raw bytes past the encoder (ProxyExchange); the router's own answers are
                    // Netty responses, which the encoder writes.
                    ch.pipeline()
                        .addLast(new RequestFramer(maxBodyBytes, settings.sessionHeader()))
                        .addLast(new HttpResponseEncoder())
                        .addLast(new RouterHandler(RouterServer.this));
                  }
                });
    serverChannel = b.bind(host, requestedPort).sync().channel();
    return this;
  }

  public int port() {
    return ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  public String baseUrl() {
    return "http://" + host + ":" + port();
  }

  @Override
  public RouterSettings settings() {
    return settings;
  }

  @Override
  public BackendRegistry registry() {
    return registry;
  }

  @Override
  public Policies policies() {
    return policies;
  }

  @Override
  public CacheAware cacheAware() {
    return cacheAware;
  }

  RoutingPolicy defaultPolicy() {
    return defaultPolicy;
  }

  RouterMetrics metrics() {
    return metrics;
  }

  AdminApi admin() {
    return admin;
  }

  @Override
  public RetryBudget retryBudget() {
    return retryBudget;
  }

  @Override
  public RouterObserver observer() {
    return observer;
  }

  @Override
  public UpstreamPool pool(EventLoop loop) {
    // Looked up first: the lambda captures this server, so passing it on every request allocated
    // one per request (an allocation profile, session 7).
    UpstreamPool pool = pools.get(loop);
    return pool != null ? pool : pools.computeIfAbsent(loop, this::newPool);
  }

  private UpstreamPool newPool(EventLoop loop) {
    return new UpstreamPool(loop, clientChannelType, settings.connectTimeoutMs(), 256);
  }

  @Override
  public AtomicInteger inFlight() {
    return inFlight;
  }

  @Override
  public HeadDeadlines deadlines(EventLoop loop) {
    return deadlines.computeIfAbsent(loop, HeadDeadlines::new);
  }

  @Override
  public HeadDeadlines clientDeadlines(EventLoop loop) {
    HeadDeadlines d = clientDeadlines.get(loop);
    return d != null ? d : clientDeadlines.computeIfAbsent(loop, HeadDeadlines::new);
  }

  /** Closes idle upstream connections to an engine that left. */
  public void forget(String engineId) {
    pools.values().forEach(p -> p.forget(engineId));
  }

  /** Stops accepting, waits for in-flight requests up to {@code drainSeconds}, then stops. */
  public void close(int drainSeconds) {
    if (serverChannel != null) {
      serverChannel.close().awaitUninterruptibly();
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(drainSeconds);
    while (System.nanoTime() < deadline && busy()) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    renderExecutor.shutdownNow();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
  }

  private boolean busy() {
    for (var b : registry.all()) {
      if (b.inFlight() > 0) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void close() {
    close(0);
  }
}
