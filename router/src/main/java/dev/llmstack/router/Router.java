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
  private final Map<EndpointSource, Set<Endpoint>> discovered = new ConcurrentHashMap<>();

  private Router(RouterSettings s) {
    this.settings = s;
    this.monitor =
        new EngineMonitor(
            new EngineMonitor.Settings(s.healthIntervalMs, s.scrapeIntervalMs, s.monitorTimeoutMs));
    RouterServer[] serverRef = new RouterServer[1];
    this.registry =
        new BackendRegistry(
            OutlierPolicy.DEFAULT,
            monitor::watch,
            b -> {
              monitor.unwatch(b);
              if (serverRef[0] != null) {
                serverRef[0].forget(b.id());
              }
            });
    this.admin = new AdminApi(registry);
    Policies policies = new Policies(s.sessionLoadFactor);
    RoutingPolicy policy = policies.get(s.policy);
    if (policy == null) {
      throw new IllegalArgumentException(
          "unknown routing policy '" + s.policy + "'; known: " + policies.names());
    }
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
            new RouterMetrics(registry),
            admin,
            s.retryBudgetRatio);
    serverRef[0] = server;
  }

  public static Router start(RouterSettings s) throws Exception {
    Router r = new Router(s);
    try {
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
      sources.add(new FileEndpointSource(settings.configFile, settings.configPollMs));
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
  }
}
