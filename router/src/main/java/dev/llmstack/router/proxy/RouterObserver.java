package dev.llmstack.router.proxy;

import dev.llmstack.router.routing.Decision;

/**
 * What the data path reports, for metrics, logs and the dashboard. Called on event loops: cheap.
 */
public interface RouterObserver {

  /** A routing decision (one per attempt; {@code retry} when an earlier attempt failed). */
  default void routed(
      String requestId, String model, String policy, Decision decision, boolean retry) {}

  /**
   * The per-(engine, model) handle an exchange reports its timings to, looked up once per attempt
   * so that per-chunk observations do no label lookups.
   */
  default Series series(String engine, String model) {
    return Series.NONE;
  }

  /** kind: connect, status, midstream, client-disconnect. */
  default void failed(String engine, String kind) {}

  default void retried(String engine) {}

  /**
   * A cache-aware decision's predicted cached tokens against what the engine reported in its usage.
   */
  default void cacheOutcome(String engine, int predicted, int actual) {}

  /** A request the router answered itself (4xx, no engine). */
  default void rejected(int status) {}

  RouterObserver NONE = new RouterObserver() {};

  /** Timings and sizes of requests to one engine for one model. */
  interface Series {
    /** The first piece of a streamed (SSE) body arrived: the first token as the client sees it. */
    default void firstToken(long nanosSinceArrival) {}

    /** The gap between two successive pieces of a streamed body. */
    default void interToken(long nanos) {}

    /** The request ended; token counts are -1 when the response carried no usage. */
    default void finished(int status, long nanos, long promptTokens, long completionTokens) {}

    Series NONE = new Series() {};
  }

  /**
   * The primary observer (metrics: its series get every timing) plus taps that only want the
   * decision and outcome events, such as the dashboard.
   */
  static RouterObserver tee(RouterObserver primary, RouterObserver tap) {
    return new RouterObserver() {
      @Override
      public void routed(
          String requestId, String model, String policy, Decision decision, boolean retry) {
        primary.routed(requestId, model, policy, decision, retry);
        tap.routed(requestId, model, policy, decision, retry);
      }

      @Override
      public Series series(String engine, String model) {
        return primary.series(engine, model);
      }

      @Override
      public void failed(String engine, String kind) {
        primary.failed(engine, kind);
        tap.failed(engine, kind);
      }

      @Override
      public void retried(String engine) {
        primary.retried(engine);
        tap.retried(engine);
      }

      @Override
      public void cacheOutcome(String engine, int predicted, int actual) {
        primary.cacheOutcome(engine, predicted, actual);
        tap.cacheOutcome(engine, predicted, actual);
      }

      @Override
      public void rejected(int status) {
        primary.rejected(status);
        tap.rejected(status);
      }
    };
  }
}
