package dev.llmstack.engine.server;

import dev.llmstack.engine.core.SamplingSpec;
import java.util.List;
import java.util.Map;

/**
 * A chat or completion request, parsed and checked but not yet tokenized.
 *
 * @param maxTokens the requested output limit, or null to fill the context (chat) / default 16
 *     (completion)
 */
record GenerationRequest(
    boolean chat,
    String model,
    List<dev.llmstack.protocol.tokenizer.ChatMessage> messages,
    boolean addGenerationPrompt,
    boolean continueFinalMessage,
    Map<String, Object> templateKwargs,
    String prompt,
    int[] promptTokenIds,
    boolean addSpecialTokens,
    Integer maxTokens,
    int minTokens,
    boolean ignoreEos,
    Long seed,
    List<String> stop,
    boolean stream,
    boolean includeUsage,
    boolean continuousUsageStats,
    boolean echo,
    String cacheSalt,
    String requestId) {

  /** Sampling for a prompt of {@code promptTokens} tokens, with max_tokens resolved. */
  SamplingSpec sampling(int resolvedMaxTokens) {
    return new SamplingSpec(resolvedMaxTokens, minTokens, ignoreEos, seed, stop);
  }
}
