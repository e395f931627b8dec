package dev.llmstack.router;

import dev.llmstack.router.admin.AdminApi;
import dev.llmstack.router.backend.BackendRegistry;
import dev.llmstack.router.backend.OutlierPolicy;
import dev.llmstack.router.discovery.Endpoint;
import dev.llmstack.router.discovery.EndpointSource;
import dev.llmstack.router.discovery.FileEndpointSource;
import dev.llmstack.router.discovery.StaticEndpointSource;
import dev.llmstack.router.proxy.RouterServer;
import dev.llmstack.router.routing.Policies;
import dev.llmstack.router.routing.RoutingPolicy;
import dev.llmstack.router.stats.EngineMonitor;
import dev.llmstack.router.stats.RouterMetrics;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The router, assembled: discovery feeds the backend registry, the monitor probes and scrapes each
 * engine, the Netty server proxies requests by the configured policy.
 */
public final class Router implements AutoCloseable {

  private final RouterSettings settings;
  private final BackendRegistry registry;
  private final EngineMonitor monitor;
  private final RouterServer server;
  private final AdminApi admin;
  private final List<EndpointSource> sources = new ArrayList<>();
  private final dev.llmstack.router.kvindex.KvBlockIndex kvIndex =
      new dev.llmstack.router.kvindex.KvBlockIndex(16);
  private final dev.llmstack.router.kvindex.KvIndexFeed kvFeed;
  private final dev.llmstack.router.kvindex.ApproximatePrefixIndex approximate =
      new dev.llmstack.router.kvindex.ApproximatePrefixIndex(
          100_000, java.util.concurrent.TimeUnit.MINUTES.toNanos(10));
  private final dev.llmstack.router.kvindex.PromptKeys promptKeys;
  private final java.util.concurrent.ExecutorService keysPool;
  private dev.llmstack.router.stats.AccessLog accessLog;
  private final RouterMetrics metrics;
  private dev.llmstack.router.ui.DashboardState dashboard;
  private final Map<EndpointSource, Set<Endpoint>> discovered = new ConcurrentHashMap<>();

  private Router(RouterSettings s) {
    this.settings = s;
    this.monitor =
        new EngineMonitor(
            new EngineMonitor.Settings(s.healthIntervalMs, s.scrapeIntervalMs, s.monitorTimeoutMs),
            s.backgroundThreads);
    // The approximate index keeps per engine no more blocks than the engine's KV cache holds.
    monitor.onCapacity((engine, tokens) -> approximate.capacity(engine, Math.max(1, tokens / 16)));
    RouterServer[] serverRef = new RouterServer[1];
    RouterMetrics[] metricsRef = new RouterMetrics[1];
    this.kvFeed = new dev.llmstack.router.kvindex.KvIndexFeed(kvIndex, s.kvEventsTopic);
    this.registry =
        new BackendRegistry(
            OutlierPolicy.DEFAULT,
            b -> {
              monitor.watch(b);
              String[] kv = kvEndpoints(b.endpoint());
              if (kv != null) {
                kvFeed.watch(b.id(), kv[0], kv[1]);
              }
            },
            b -> {
              monitor.unwatch(b);
              kvFeed.unwatch(b.id());
              approximate.remove(b.id());
              if (metricsRef[0] != null) {
                metricsRef[0].forget(b.id());
              }
              if (serverRef[0] != null) {
                serverRef[0].forget(b.id());
              }
            });
    this.promptKeys = new dev.llmstack.router.kvindex.PromptKeys(s.tokenizerDir, 16);
    int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
    java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
    this.keysPool =
        java.util.concurrent.Executors.newFixedThreadPool(
            workers,
            r ->
                Thread.ofPlatform()
                    .name("prompt-keys-" + n.incrementAndGet())
                    .daemon(true)
                    .unstarted(r));
    this.admin = new AdminApi(registry);
    Policies policies =
        new Policies(
            s.sessionLoadFactor,
            kvIndex,
            approximate,
            kvFeed::follows,
            s.costWeights,
            System::nanoTime);
    RoutingPolicy policy = policies.get(s.policy);
    if (policy == null) {
      throw new IllegalArgumentException(
          "unknown routing policy '" + s.policy + "'; known: " + policies.names());
    }
    this.metrics = new RouterMetrics(registry);
    metricsRef[0] = metrics;
    metrics.indexes(kvIndex, approximate);
    if (s.maxAttempts < 1) {
      throw new IllegalArgumentException("max attempts must be at least 1");
    }
    this.server =
        new RouterServer(
            s,
            s.host,
            s.port,
            s.ioThreads,
            s.maxBodyBytes,
            registry,
            policies,
            policy,
            metrics,
            admin,
            s.retryBudgetRatio,
            new RouterServer.CacheAware(promptKeys, keysPool, approximate));
    serverRef[0] = server;
  }

  public static Router start(RouterSettings s) throws Exception {
    Router r = new Router(s);
    try {
      if (s.accessLog != null) {
        r.accessLog = new dev.llmstack.router.stats.AccessLog(s.accessLog);
        r.server.accessLog(r.accessLog);
      }
      if (s.dashboard) {
        var decisions = new dev.llmstack.router.ui.DecisionLog(256);
        r.dashboard =
            new dev.llmstack.router.ui.DashboardState(
                    r.registry, r.metrics, decisions, 1000, s.backgroundThreads)
                .start();
        r.server.dashboard(new dev.llmstack.router.ui.DashboardHandler(r.dashboard), decisions);
      }
      r.server.start();
      r.startDiscovery();
    } catch (Exception | Error e) {
      r.close();
      throw e;
    }
    return r;
  }

  private void startDiscovery() throws Exception {
    if (settings.discovery.equals("k8s")) {
      sources.add(
          new dev.llmstack.router.discovery.KubernetesEndpointSource(
              settings.namespace, settings.selector, settings.portName));
    } else if (!settings.discovery.equals("static")) {
      throw new IllegalArgumentException("discovery must be static or k8s: " + settings.discovery);
    }
    if (!settings.backends.isEmpty()) {
      sources.add(new StaticEndpointSource(settings.backends));
    }
    if (settings.configFile != null) {
      sources.add(
          new FileEndpointSource(
              settings.configFile, settings.configPollMs, settings.backgroundThreads));
    }
    for (EndpointSource source : sources) {
      source.start(
          endpoints -> {
            discovered.put(source, Set.copyOf(endpoints));
            Set<Endpoint> all = new LinkedHashSet<>();
            discovered.values().forEach(all::addAll);
            registry.sync(all, admin.manual());
          });
    }
  }

  /** KV-event endpoints of an engine, or null when the router does not follow its events. */
  private String[] kvEndpoints(Endpoint e) {
    String[] explicit = settings.kvEndpoints.get(e.id());
    if (explicit != null) {
      return explicit;
    }
    if (settings.kvEventsPortOffset == null) {
      return null;
    }
    String pub = "tcp://" + e.host() + ":" + (e.port() + settings.kvEventsPortOffset);
    String replay =
        settings.kvReplayPortOffset == null
            ? null
            : "tcp://" + e.host() + ":" + (e.port() + settings.kvReplayPortOffset);
    return new String[] {pub, replay};
  }

  public dev.llmstack.router.kvindex.KvBlockIndex kvIndex() {
    return kvIndex;
  }

  public dev.llmstack.router.kvindex.ApproximatePrefixIndex approximateIndex() {
    return approximate;
  }

  public String baseUrl() {
    return server.baseUrl();
  }

  public int port() {
    return server.port();
  }

  public BackendRegistry registry() {
    return registry;
  }

  /** What discovery is using, for the start-up banner. */
  public List<String> sources() {
    return sources.stream().map(EndpointSource::describe).toList();
  }

  @Override
  public void close() {
    for (EndpointSource s : sources) {
      s.close();
    }
    server.close(settings.drainSeconds);
    monitor.close();
    if (dashboard != null) {
      dashboard.close();
    }
    kvFeed.close();
    keysPool.shutdownNow();
    promptKeys.close();
    if (accessLog != null) {
      accessLog.close();
    }
  }
}
