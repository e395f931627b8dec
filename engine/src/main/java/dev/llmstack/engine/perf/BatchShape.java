package dev.llmstack.engine.perf;

/**
 * What one scheduler step computes, reduced to the figures a step-time model needs.
 *
 * @param prefillTokens new prompt tokens computed this step (all prefill chunks together)
 * @param prefillAttention sum over prefill chunks of {@code chunk * (cachedContext + chunk / 2)}:
 *     the query-key pairs their attention touches
 * @param decodeSeqs sequences decoding one token this step
 * @param decodeContextTokens sum of the context lengths (tokens already in KV) of the decoding
 *     sequences
 * @param prefillContextTokens sum of the KV tokens the prefill chunks read (their cached context
 *     plus chunk)
 */
public record BatchShape(
    long prefillTokens,
    double prefillAttention,
    int decodeSeqs,
    long decodeContextTokens,
    long prefillContextTokens) {

  public long totalTokens() {
    return prefillTokens + decodeSeqs;
  }
}
