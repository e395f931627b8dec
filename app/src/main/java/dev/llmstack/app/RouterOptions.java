package dev.llmstack.app;

import dev.llmstack.router.RouterSettings;
import dev.llmstack.router.threads.BackgroundThreads;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** The router's command-line options, shared by {@code llmstack router} and {@code llmstack up}. */
final class RouterOptions {

  @Option(
      names = "--policy",
      defaultValue = "least-outstanding",
      description =
          "Routing policy: round-robin, least-outstanding, power-of-two, session, kv (default:"
              + " ${DEFAULT-VALUE}).")
  String policy;

  @Option(
      names = "--session-header",
      defaultValue = "x-session-id",
      description = "Header naming a session for the session policy (else the body's user field).")
  String sessionHeader;

  @Option(
      names = "--session-load-factor",
      defaultValue = "1.25",
      description = "Bounded-load factor of the session policy.")
  double sessionLoadFactor;

  @picocli.CommandLine.Mixin CostWeightOptions costWeights;

  @Option(
      names = "--max-body-bytes",
      defaultValue = "33554432",
      description = "Largest request body (default: 32 MiB).")
  int maxBodyBytes;

  @Option(
      names = "--max-attempts",
      defaultValue = "3",
      description = "Engines tried per request at most.")
  int maxAttempts;

  @Option(
      names = "--retry-budget",
      defaultValue = "0.2",
      description = "Retries allowed as a fraction of requests.")
  double retryBudget;

  @Option(
      names = "--health-interval-ms",
      defaultValue = "2000",
      description = "Active /health probe interval.")
  long healthIntervalMs;

  @Option(
      names = "--scrape-interval-ms",
      defaultValue = "1000",
      description = "Engine /metrics scrape interval.")
  long scrapeIntervalMs;

  @Option(
      names = "--scrape-timeout-ms",
      defaultValue = "1000",
      description = "Timeout of probes and scrapes.")
  long scrapeTimeoutMs;

  @Option(
      names = "--first-byte-timeout-ms",
      defaultValue = "300000",
      description =
          "Move a request to another engine if none of its response arrives in this time; 0 waits.")
  long firstByteTimeoutMs;

  @Option(
      names = "--client-timeout-ms",
      defaultValue = "60000",
      description =
          "Close a client connection that sends no complete request in this time while it is owed"
              + " no response: idle between requests, or a request still arriving (408); 0 waits.")
  long clientTimeoutMs;

  @Option(
      names = "--busy-poll-us",
      defaultValue = "0",
      description =
          "Event loops poll this long for I/O before they sleep (0: sleep at once). Lowers the"
              + " latency of a busy router, at the cost of CPU: a loop fed at least this often"
              + " never sleeps.")
  long busyPollMicros;

  @Option(
      names = "--io-threads",
      defaultValue = "0",
      description = "Event-loop threads (0: one per core).")
  int ioThreads;

  @Option(
      names = "--drain-seconds",
      defaultValue = "30",
      description = "On shutdown, let streams finish this long.")
  int drainSeconds;

  @Option(
      names = "--kv-events-port-offset",
      description =
          "Follow engines' KV events at their HTTP port plus this offset (for the kv policy).")
  Integer kvEventsPortOffset;

  @Option(
      names = "--kv-replay-port-offset",
      description = "Engines' KV-event replay sockets at their HTTP port plus this offset.")
  Integer kvReplayPortOffset;

  @Option(
      names = "--kv-events-topic",
      defaultValue = "kv-events",
      description = "Topic of the engines' KV events (default: ${DEFAULT-VALUE}).")
  String kvEventsTopic;

  @Option(
      names = "--tokenizer",
      description = "Tokenizer directory for the kv policy (default: the model's own).")
  String tokenizer;

  @Option(
      names = "--access-log",
      description = "JSON-lines access log: a file path, or - for standard output (default: off).")
  String accessLog;

  @Option(
      names = "--no-dashboard",
      negatable = false,
      description = "Do not serve the live dashboard at /dashboard.")
  boolean noDashboard;

  @Option(
      names = "--background-threads",
      defaultValue = "idle",
      description =
          "How the engine monitor, dashboard sampler and config watcher are scheduled: idle"
              + " (Linux's SCHED_IDLE: they give way to the event loops at once) or normal (only a"
              + " lower priority). Default: ${DEFAULT-VALUE}.")
  String backgroundThreads;

  RouterSettings apply(RouterSettings s) {
    s.accessLog(accessLog);
    s.backgroundThreads(BackgroundThreads.Scheduling.parse(backgroundThreads));
    s.dashboard(!noDashboard);
    if (kvEventsPortOffset != null) {
      s.kvEventsPortOffsets(kvEventsPortOffset, kvReplayPortOffset);
    }
    s.kvEventsTopic(kvEventsTopic);
    if (tokenizer != null) {
      s.tokenizerDir(java.nio.file.Path.of(tokenizer));
    }
    return s.policy(policy)
        .sessionHeader(sessionHeader)
        .sessionLoadFactor(sessionLoadFactor)
        .costWeights(costWeights.weights())
        .maxBodyBytes(maxBodyBytes)
        .maxAttempts(maxAttempts)
        .retryBudgetRatio(retryBudget)
        .healthIntervalMs(healthIntervalMs)
        .scrapeIntervalMs(scrapeIntervalMs)
        .monitorTimeoutMs(scrapeTimeoutMs)
        .firstByteTimeoutMs(firstByteTimeoutMs)
        .clientTimeoutMs(clientTimeoutMs)
        .ioThreads(ioThreads)
        .busyPollMicros(busyPollMicros)
        .drainSeconds(drainSeconds);
  }

  static List<String> split(String csv) {
    return csv == null || csv.isBlank() ? List.of() : List.of(csv.split(","));
  }

  static Path path(String p) {
    return p == null ? null : Path.of(p);
  }
}
