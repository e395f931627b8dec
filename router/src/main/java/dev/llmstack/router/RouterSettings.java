package dev.llmstack.router;

import java.nio.file.Path;
import java.util.List;

/** The router's settings: a fluent holder the command line and tests fill in. */
public final class RouterSettings {

  String host = "127.0.0.1";
  int port = 8080;
  List<String> backends = List.of();
  Path configFile;
  String discovery = "static";
  String namespace = "default";
  String selector = "app=vllm";
  String portName = "http";
  String policy = "least-outstanding";
  double sessionLoadFactor = 1.25;
  dev.llmstack.router.routing.CostWeights costWeights =
      dev.llmstack.router.routing.CostWeights.DEFAULT;
  String sessionHeader = "x-session-id";
  int maxBodyBytes = 32 << 20;
  int maxAttempts = 3;
  double retryBudgetRatio = 0.2;
  long healthIntervalMs = 2000;
  long scrapeIntervalMs = 1000;
  long monitorTimeoutMs = 1000;
  long firstByteTimeoutMs = 300_000;
  long clientTimeoutMs = 60_000;
  int connectTimeoutMs = 2000;
  int ioThreads = 0;
  long busyPollMicros = 0;
  int drainSeconds = 30;
  long configPollMs = 1000;
  Integer kvEventsPortOffset;
  Integer kvReplayPortOffset;
  String kvEventsTopic = "kv-events";
  java.util.Map<String, String[]> kvEndpoints = java.util.Map.of();
  Path tokenizerDir;
  String accessLog;
  boolean dashboard = true;
  dev.llmstack.router.threads.BackgroundThreads backgroundThreads =
      dev.llmstack.router.threads.BackgroundThreads.IDLE;

  public static RouterSettings defaults() {
    return new RouterSettings();
  }

  public RouterSettings host(String v) {
    host = v;
    return this;
  }

  /** Port to listen on; 0 picks a free one. */
  public RouterSettings port(int v) {
    port = v;
    return this;
  }

  public RouterSettings backends(List<String> v) {
    backends = List.copyOf(v);
    return this;
  }

  /** A YAML file listing backends, reloaded when it changes. */
  public RouterSettings configFile(Path v) {
    configFile = v;
    return this;
  }

  /** static (backends and/or config file) or k8s. */
  public RouterSettings discovery(String v) {
    discovery = v;
    return this;
  }

  public RouterSettings namespace(String v) {
    namespace = v;
    return this;
  }

  public RouterSettings selector(String v) {
    selector = v;
    return this;
  }

  /** Name of the container port engines listen on (Kubernetes discovery). */
  public RouterSettings portName(String v) {
    portName = v;
    return this;
  }

  public RouterSettings policy(String v) {
    policy = v;
    return this;
  }

  /** Weights of the cache-aware cost model. */
  public RouterSettings costWeights(dev.llmstack.router.routing.CostWeights v) {
    costWeights = v;
    return this;
  }

  public RouterSettings sessionLoadFactor(double v) {
    sessionLoadFactor = v;
    return this;
  }

  public RouterSettings sessionHeader(String v) {
    sessionHeader = v;
    return this;
  }

  public RouterSettings maxBodyBytes(int v) {
    maxBodyBytes = v;
    return this;
  }

  /** Engines tried per request at most (1 = no retry). */
  public RouterSettings maxAttempts(int v) {
    maxAttempts = v;
    return this;
  }

  public RouterSettings retryBudgetRatio(double v) {
    retryBudgetRatio = v;
    return this;
  }

  public RouterSettings healthIntervalMs(long v) {
    healthIntervalMs = v;
    return this;
  }

  public RouterSettings scrapeIntervalMs(long v) {
    scrapeIntervalMs = v;
    return this;
  }

  public RouterSettings monitorTimeoutMs(long v) {
    monitorTimeoutMs = v;
    return this;
  }

  /**
   * How long an engine may take to start answering before the request moves on; 0 waits forever.
   */
  public RouterSettings firstByteTimeoutMs(long v) {
    firstByteTimeoutMs = v;
    return this;
  }

  /**
   * How long a client connection may go without sending a complete request while the router owes it
   * nothing: idle between requests (then closed), or with a request still arriving (then 408); 0
   * waits forever.
   */
  public RouterSettings clientTimeoutMs(long v) {
    clientTimeoutMs = v;
    return this;
  }

  public RouterSettings connectTimeoutMs(int v) {
    connectTimeoutMs = v;
    return this;
  }

  /**
   * How long an event loop polls for I/O before it blocks, in microseconds; 0 blocks at once. See
   * docs/configuration.md: it trades a core's idle time for wake-up latency.
   */
  public RouterSettings busyPollMicros(long v) {
    if (v < 0) {
      throw new IllegalArgumentException("busy poll must be >= 0 microseconds");
    }
    busyPollMicros = v;
    return this;
  }

  public long busyPollMicros() {
    return busyPollMicros;
  }

  /** Event-loop threads; 0 means one per core. */
  public RouterSettings ioThreads(int v) {
    ioThreads = v;
    return this;
  }

  public RouterSettings drainSeconds(int v) {
    drainSeconds = v;
    return this;
  }

  public RouterSettings configPollMs(long v) {
    configPollMs = v;
    return this;
  }

  /**
   * Engines publish KV events on their HTTP port plus this offset (and serve replay at the replay
   * offset), as {@code llmstack up --kv-events} starts them; null turns KV-event subscription off.
   */
  public RouterSettings kvEventsPortOffsets(Integer events, Integer replay) {
    kvEventsPortOffset = events;
    kvReplayPortOffset = replay;
    return this;
  }

  /** Explicit KV-event endpoints per engine URL: {@code {tcp://pub, tcp://replay or null}}. */
  public RouterSettings kvEndpoints(java.util.Map<String, String[]> v) {
    kvEndpoints = java.util.Map.copyOf(v);
    return this;
  }

  public RouterSettings kvEventsTopic(String v) {
    kvEventsTopic = v;
    return this;
  }

  /** Where the JSON-lines access log goes: a file path, "-" for standard output, null for none. */
  public RouterSettings accessLog(String v) {
    accessLog = v;
    return this;
  }

  /** Serve the live dashboard at /dashboard (on by default; it samples once a second). */
  public RouterSettings dashboard(boolean v) {
    dashboard = v;
    return this;
  }

  /**
   * How the engine monitor, dashboard sampler and config watcher are scheduled against the event
   * loops: Linux's SCHED_IDLE by default (see BackgroundThreads).
   */
  public RouterSettings backgroundThreads(
      dev.llmstack.router.threads.BackgroundThreads.Scheduling v) {
    backgroundThreads =
        dev.llmstack.router.threads.BackgroundThreads.of(java.util.Objects.requireNonNull(v));
    return this;
  }

  /** Tokenizer directory for cache-aware routing; null fetches each served model's own. */
  public RouterSettings tokenizerDir(Path v) {
    tokenizerDir = v;
    return this;
  }

  public int connectTimeoutMs() {
    return connectTimeoutMs;
  }

  public int maxAttempts() {
    return maxAttempts;
  }

  public long firstByteTimeoutMs() {
    return firstByteTimeoutMs;
  }

  public long clientTimeoutMs() {
    return clientTimeoutMs;
  }

  public String sessionHeader() {
    return sessionHeader;
  }

  public String policy() {
    return policy;
  }
}
