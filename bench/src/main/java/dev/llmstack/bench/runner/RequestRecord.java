package dev.llmstack.bench.runner;

/**
 * What happened to one request. Times are nanoseconds from the start of the run; latencies are
 * measured from {@code intendedNanos}, the time the workload meant to send it.
 *
 * @param engine the engine that served it (from the router's header, or the twin), or null
 * @param firstTokenNanos when the first output token arrived, or -1
 * @param cachedTokens prompt tokens the engine served from its prefix cache (usage), or -1 when not
 *     reported
 * @param meanItlNanos mean gap between output tokens (TPOT's numerator over gaps), 0 for one token
 * @param error why it failed, or null
 * @param answer the generated text when the workload asked for it, else null
 */
public record RequestRecord(
    String id,
    String user,
    String engine,
    long intendedNanos,
    long sentNanos,
    long firstTokenNanos,
    long endNanos,
    int promptTokens,
    int outputTokens,
    int cachedTokens,
    String error,
    String answer) {

  public boolean ok() {
    return error == null;
  }

  /** Time to first token from the intended send time, in seconds. */
  public double ttftSeconds() {
    return (firstTokenNanos - intendedNanos) / 1e9;
  }

  /** End-to-end latency from the intended send time, in seconds. */
  public double e2eSeconds() {
    return (endNanos - intendedNanos) / 1e9;
  }

  /** Time per output token after the first ({@code vllm bench serve}'s TPOT), in seconds. */
  public double tpotSeconds() {
    return outputTokens > 1 ? (endNanos - firstTokenNanos) / 1e9 / (outputTokens - 1) : 0;
  }
}
