package dev.llmstack.router.proxy;

import dev.llmstack.router.routing.Decision;

/** What the data path reports, for metrics and logs. Called on event loops: must be cheap. */
public interface RouterObserver {

  default void routed(String policy, Decision decision, boolean retry) {}

  default void firstByte(String engine, long nanosSinceArrival) {}

  /** kind: connect, status, midstream, client-disconnect. */
  default void failed(String engine, String kind) {}

  default void retried(String engine) {}

  default void finished(String engine, String model, int status, long nanos) {}

  /**
   * A cache-aware decision's predicted cached tokens against what the engine reported in its usage.
   */
  default void cacheOutcome(String engine, int predicted, int actual) {}

  /** A request the router answered itself (4xx, no engine). */
  default void rejected(int status) {}

  RouterObserver NONE = new RouterObserver() {};
}
