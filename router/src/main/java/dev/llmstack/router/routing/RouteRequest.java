package dev.llmstack.router.routing;

/**
 * What routing knows of a request: read once from the body and headers, nothing else.
 *
 * @param sessionKey the session header or the body's {@code user} field; null when neither is set
 * @param blockKeys the prompt's chained block keys (only for cache-aware policies), or null
 * @param promptTokens the prompt's length in tokens when tokenized (estimated for character keys),
 *     else 0
 * @param keySource what the block keys were made of
 * @param lora the LoRA adapter the request names (its model is the adapter), or null
 */
public record RouteRequest(
    String model,
    String sessionKey,
    boolean stream,
    long[] blockKeys,
    int promptTokens,
    KeySource keySource,
    String lora) {

  public RouteRequest(
      String model,
      String sessionKey,
      boolean stream,
      long[] blockKeys,
      int promptTokens,
      KeySource keySource) {
    this(model, sessionKey, stream, blockKeys, promptTokens, keySource, null);
  }

  /** What a request's block keys were made of. */
  public enum KeySource {
    /** No keys: not a cache-aware policy, or the body could not be read. */
    NONE,
    /** The model's own token ids: comparable with the engines' KV events. */
    TOKENS,
    /**
     * Blocks of prompt characters, for models without a tokenizer: only the router's own record of
     * what it sent can match them.
     */
    CHARACTERS
  }

  public RouteRequest(
      String model, String sessionKey, boolean stream, long[] blockKeys, int promptTokens) {
    this(
        model,
        sessionKey,
        stream,
        blockKeys,
        promptTokens,
        blockKeys == null ? KeySource.NONE : KeySource.TOKENS);
  }

  public RouteRequest(String model, String sessionKey, boolean stream) {
    this(model, sessionKey, stream, null, 0);
  }
}
