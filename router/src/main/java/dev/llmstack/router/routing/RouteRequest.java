package dev.llmstack.router.routing;

/**
 * What routing knows of a request: read once from the body and headers, nothing else.
 *
 * @param sessionKey the session header or the body's {@code user} field; null when neither is set
 * @param blockKeys the prompt's chained block keys (only for cache-aware policies), or null
 * @param promptTokens the prompt's length in tokens when tokenized, else 0
 */
public record RouteRequest(
    String model, String sessionKey, boolean stream, long[] blockKeys, int promptTokens) {

  public RouteRequest(String model, String sessionKey, boolean stream) {
    this(model, sessionKey, stream, null, 0);
  }
}
