package dev.llmstack.router.backend;

/** Where an engine stands for routing. */
public enum HealthState {
  /** Takes traffic. */
  HEALTHY,
  /** Failed its active health probe: no traffic until a probe passes. */
  DOWN,
  /** Too many consecutive request failures: no traffic until the backoff ends. */
  EJECTED,
  /**
   * Back after an ejection: takes traffic, and one more failure ejects it again with a longer
   * backoff.
   */
  PROBATION
}
