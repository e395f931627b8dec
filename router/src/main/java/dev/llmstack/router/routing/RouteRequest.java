package dev.llmstack.router.routing;

/**
 * What routing knows of a request: read once from the body and headers, nothing else.
 *
 * @param sessionKey the session header or the body's {@code user} field; null when neither is set
 */
public record RouteRequest(String model, String sessionKey, boolean stream) {}
