package dev.llmstack.engine.core;

import java.util.List;

/**
 * What a request asks of generation.
 *
 * @param maxTokens output length unless EOS or a stop string ends it first
 * @param minTokens no EOS before this many tokens
 * @param ignoreEos never end on EOS: output length is exactly {@code maxTokens}
 * @param seed seeds the deterministic text; null derives one from the request id
 * @param stop stop strings: generation ends when the text ends with one (not included in the
 *     output)
 */
public record SamplingSpec(
    int maxTokens, int minTokens, boolean ignoreEos, Long seed, List<String> stop) {

  public SamplingSpec {
    stop = stop == null ? List.of() : List.copyOf(stop);
  }
}
