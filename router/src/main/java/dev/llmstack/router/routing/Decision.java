package dev.llmstack.router.routing;

import dev.llmstack.router.backend.BackendSnapshot;

/**
 * The chosen engine and why, as reported in the response's routing header.
 *
 * @param predictedCachedTokens prompt tokens a cache-aware policy expects the engine to serve from
 *     its prefix cache, or -1 when the policy makes no such prediction
 */
public record Decision(BackendSnapshot backend, String reason, int predictedCachedTokens) {

  public Decision(BackendSnapshot backend, String reason) {
    this(backend, reason, -1);
  }
}
