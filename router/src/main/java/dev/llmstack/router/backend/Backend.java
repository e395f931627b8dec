package dev.llmstack.router.backend;

import dev.llmstack.router.discovery.Endpoint;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The router's view of one engine: models it serves, health, drain flag, router-side load and
 * scraped stats. Load counters are updated on the data path (dispatch, first byte, finish), so
 * routing sees fresh load between scrapes.
 */
public final class Backend {

  private final Endpoint endpoint;
  private final OutlierPolicy outliers;
  private final AtomicInteger inFlight = new AtomicInteger();
  // LoRA adapters of the requests in flight here, with their counts (only adapter requests).
  private final java.util.concurrent.ConcurrentHashMap<String, Integer> loraInFlight =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicInteger awaitingFirstByte = new AtomicInteger();
  private final java.util.concurrent.atomic.AtomicLong pendingPrefill =
      new java.util.concurrent.atomic.AtomicLong();
  private volatile Set<String> models = Set.of();
  private volatile java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> modelCards =
      java.util.Map.of();
  private volatile EngineStats stats = EngineStats.NONE;
  private final java.util.concurrent.atomic.AtomicLong scrapesOk =
      new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong scrapesFailed =
      new java.util.concurrent.atomic.AtomicLong();
  private volatile boolean draining;
  private volatile boolean probedUp = true;
  private volatile boolean modelsKnown;

  // Passive health, guarded by this.
  private HealthState passive = HealthState.HEALTHY;
  private int consecutiveFailures;
  private int ejections;
  private long ejectedUntilNanos;

  private final String hostHeader;

  // The header lines the proxy writes for this engine on every request, as bytes, built once:
  // writing a String to a buffer goes char by char (a CPU profile, session 9).
  private final byte[] hostLine;
  private final byte[] engineLine;

  public Backend(Endpoint endpoint, OutlierPolicy outliers) {
    this.endpoint = endpoint;
    this.outliers = outliers;
    this.hostHeader = endpoint.host() + ":" + endpoint.port();
    this.hostLine = latin1("host: " + hostHeader + "\r\n");
    this.engineLine = latin1("x-llmstack-engine: " + endpoint.id() + "\r\n");
  }

  private static byte[] latin1(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
  }

  /** The Host header of requests to this engine ({@code host:port}), built once. */
  public String hostHeader() {
    return hostHeader;
  }

  /** {@code host: <hostHeader>} and CRLF: the Host line of requests to this engine. */
  public byte[] hostLine() {
    return hostLine;
  }

  /** {@code x-llmstack-engine: <id>} and CRLF: the line naming this engine in responses. */
  public byte[] engineLine() {
    return engineLine;
  }

  public Endpoint endpoint() {
    return endpoint;
  }

  public String id() {
    return endpoint.id();
  }

  public Set<String> models() {
    return models;
  }

  /** The engine's /v1/models cards by model id. */
  public void models(java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> cards) {
    this.modelCards = java.util.Map.copyOf(cards);
    this.models = Set.copyOf(cards.keySet());
    this.modelsKnown = true;
  }

  public java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> modelCards() {
    return modelCards;
  }

  public boolean modelsKnown() {
    return modelsKnown;
  }

  public EngineStats stats() {
    return stats;
  }

  /** A successful scrape's result. */
  public void stats(EngineStats stats) {
    this.stats = stats;
    scrapesOk.incrementAndGet();
  }

  /** A scrape that failed (error, timeout, non-200): the last stats stay and grow stale. */
  public void scrapeFailed() {
    scrapesFailed.incrementAndGet();
  }

  public long scrapesOk() {
    return scrapesOk.get();
  }

  public long scrapesFailed() {
    return scrapesFailed.get();
  }

  public boolean draining() {
    return draining;
  }

  public void draining(boolean draining) {
    this.draining = draining;
  }

  public int inFlight() {
    return inFlight.get();
  }

  public int awaitingFirstByte() {
    return awaitingFirstByte.get();
  }

  /** A request was sent to this engine. */
  public void dispatched() {
    dispatched(null);
  }

  /** A request for LoRA adapter {@code lora} (null: the base model) was sent to this engine. */
  public void dispatched(String lora) {
    inFlight.incrementAndGet();
    awaitingFirstByte.incrementAndGet();
    if (lora != null) {
      loraInFlight.merge(lora, 1, Integer::sum);
    }
  }

  /** Prefill tokens a dispatched request is expected to cost the engine before its first token. */
  public void prefillQueued(long tokens) {
    pendingPrefill.addAndGet(tokens);
  }

  /** That request's first token arrived (or it ended): its prefill is no longer ahead of others. */
  public void prefillDone(long tokens) {
    pendingPrefill.addAndGet(-tokens);
  }

  public long pendingPrefillTokens() {
    return pendingPrefill.get();
  }

  /** The first byte of the response arrived. */
  public void firstByte() {
    awaitingFirstByte.decrementAndGet();
  }

  /**
   * The request ended; {@code sawFirstByte} tells whether {@link #firstByte} was already counted.
   */
  public void finished(boolean sawFirstByte) {
    finished(sawFirstByte, null);
  }

  /** The request for {@code lora} (null: the base model) ended. */
  public void finished(boolean sawFirstByte, String lora) {
    inFlight.decrementAndGet();
    if (!sawFirstByte) {
      awaitingFirstByte.decrementAndGet();
    }
    if (lora != null) {
      loraInFlight.computeIfPresent(lora, (k, n) -> n <= 1 ? null : n - 1);
    }
  }

  /** The active /health probe's verdict. */
  public void probed(boolean up) {
    this.probedUp = up;
  }

  public boolean probedUp() {
    return probedUp;
  }

  /** A request to this engine failed (connect error, reset, 5xx). */
  public synchronized void requestFailed(long nowNanos) {
    consecutiveFailures++;
    if (passive == HealthState.PROBATION || consecutiveFailures >= outliers.consecutiveFailures()) {
      passive = HealthState.EJECTED;
      ejectedUntilNanos = nowNanos + outliers.backoffNanos(ejections);
      ejections++;
      consecutiveFailures = 0;
    }
  }

  /** A request to this engine succeeded. */
  public synchronized void requestSucceeded() {
    consecutiveFailures = 0;
    if (passive == HealthState.PROBATION) {
      passive = HealthState.HEALTHY;
      ejections = 0;
    }
  }

  /** Health as routing sees it now; an ejection whose backoff ended turns into probation. */
  public synchronized HealthState health(long nowNanos) {
    if (passive == HealthState.EJECTED && nowNanos >= ejectedUntilNanos) {
      passive = HealthState.PROBATION;
    }
    if (!probedUp) {
      return HealthState.DOWN;
    }
    return passive;
  }

  public synchronized int ejections() {
    return ejections;
  }

  /** Whether new requests may go here. */
  public boolean routable(long nowNanos) {
    HealthState h = health(nowNanos);
    return !draining && (h == HealthState.HEALTHY || h == HealthState.PROBATION);
  }

  public BackendSnapshot snapshot(long nowNanos) {
    EngineStats st = stats;
    return new BackendSnapshot(
        id(),
        inFlight.get(),
        awaitingFirstByte.get(),
        st,
        health(nowNanos),
        draining,
        Math.max(0, pendingPrefill.get()),
        activeLoras(st));
  }

  /** LoRA adapters this engine is busy with now (see {@link BackendSnapshot#activeLoras}). */
  public java.util.Set<String> activeLoras() {
    return activeLoras(stats);
  }

  /**
   * Adapters this engine is busy with: those of the requests this router has in flight here, plus
   * those its last scrape showed running (other routers' requests). Empty for a base-only engine.
   */
  private java.util.Set<String> activeLoras(EngineStats st) {
    if (loraInFlight.isEmpty()) {
      return st.runningLoras();
    }
    if (st.runningLoras().isEmpty()) {
      return java.util.Set.copyOf(loraInFlight.keySet());
    }
    java.util.Set<String> all = new java.util.HashSet<>(loraInFlight.keySet());
    all.addAll(st.runningLoras());
    return all;
  }
}
