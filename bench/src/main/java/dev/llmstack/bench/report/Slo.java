package dev.llmstack.bench.report;

/**
 * Service-level objectives for goodput, as {@code vllm bench serve --goodput}: a request is good
 * when it meets every set objective. Zero means unset.
 */
public record Slo(double ttftSeconds, double tpotSeconds, double e2eSeconds) {

  public static final Slo NONE = new Slo(0, 0, 0);

  public boolean isSet() {
    return ttftSeconds > 0 || tpotSeconds > 0 || e2eSeconds > 0;
  }
}
