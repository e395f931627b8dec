package dev.llmstack.router.proxy;

/**
 * A message broke HTTP/1.1 framing or went over the router's limits: an engine's response (the
 * engine counts as failed) or a client's request (the client gets a 4xx and the connection ends).
 * No stack trace: it is an answer, not a bug.
 */
final class MalformedHttpException extends RuntimeException {
  MalformedHttpException(String message) {
    super(message, null, false, false);
  }
}
