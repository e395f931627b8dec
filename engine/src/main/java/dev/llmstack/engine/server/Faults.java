package dev.llmstack.engine.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstack.protocol.openai.OpenAiError;
import dev.llmstack.protocol.openai.OpenAiException;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Faults the engine can be told to show, by flags at start or through {@code /admin/faults}: crash
 * after N generated tokens, hang (accept requests, compute nothing), slow down by a factor, answer
 * 5xx at a rate, stop accepting connections. Chaos tests of the router drive these.
 *
 * @see EngineServer#applyFaults
 */
public final class Faults {

  /** A fault setting; null fields leave the current value unchanged. */
  public record Settings(
      Long crashAfterTokens,
      Boolean hang,
      Double slowdown,
      Double errorRate,
      Boolean refuseConnections) {

    public static final Settings NONE = new Settings(null, null, null, null, null);

    static Settings fromJson(JsonNode n) {
      if (n == null || !n.isObject()) {
        throw new OpenAiException(OpenAiError.badRequest("fault settings must be a JSON object"));
      }
      Long crash = null;
      if (n.hasNonNull("crash_after_tokens")) {
        if (!n.get("crash_after_tokens").isIntegralNumber()) {
          throw new OpenAiException(
              OpenAiError.badRequest(
                  "crash_after_tokens must be an integer", "crash_after_tokens"));
        }
        crash = n.get("crash_after_tokens").asLong();
      }
      Double slowdown = number(n, "slowdown");
      if (slowdown != null && !(slowdown > 0)) {
        throw new OpenAiException(OpenAiError.badRequest("slowdown must be > 0", "slowdown"));
      }
      Double rate = number(n, "error_rate");
      if (rate != null && (rate < 0 || rate > 1)) {
        throw new OpenAiException(
            OpenAiError.badRequest("error_rate must be within [0, 1]", "error_rate"));
      }
      return new Settings(crash, bool(n, "hang"), slowdown, rate, bool(n, "refuse_connections"));
    }

    private static Double number(JsonNode n, String f) {
      if (!n.hasNonNull(f)) {
        return null;
      }
      if (!n.get(f).isNumber()) {
        throw new OpenAiException(OpenAiError.badRequest(f + " must be a number", f));
      }
      return n.get(f).asDouble();
    }

    private static Boolean bool(JsonNode n, String f) {
      if (!n.hasNonNull(f)) {
        return null;
      }
      if (!n.get(f).isBoolean()) {
        throw new OpenAiException(OpenAiError.badRequest(f + " must be a boolean", f));
      }
      return n.get(f).asBoolean();
    }
  }

  private final AtomicLong generatedTokens = new AtomicLong();
  private final SplittableRandom random = new SplittableRandom(20261124L);
  private volatile long crashAfterTokens = -1;
  private volatile double errorRate;
  private volatile boolean crashed;

  /** Arms a crash after {@code tokens} more generated tokens; negative disarms. */
  void crashAfter(long tokens) {
    crashAfterTokens = tokens < 0 ? -1 : generatedTokens.get() + tokens;
  }

  void errorRate(double rate) {
    errorRate = rate;
  }

  double errorRate() {
    return errorRate;
  }

  long crashAfterTokensLeft() {
    long at = crashAfterTokens;
    return at < 0 ? -1 : Math.max(0, at - generatedTokens.get());
  }

  /** Counts a generated token; returns true exactly once, when the armed crash point is reached. */
  boolean tokenGenerated() {
    long n = generatedTokens.incrementAndGet();
    long at = crashAfterTokens;
    if (at >= 0 && n >= at && !crashed) {
      crashed = true;
      return true;
    }
    return false;
  }

  boolean crashed() {
    return crashed;
  }

  void markCrashed() {
    crashed = true;
  }

  /** Whether this request should be answered with a 500 (error-rate fault). */
  boolean injectError() {
    double rate = errorRate;
    if (rate <= 0) {
      return false;
    }
    synchronized (random) {
      return random.nextDouble() < rate;
    }
  }

  ObjectNode toJson(boolean hung, double slowdown, boolean refusing) {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("crash_after_tokens", crashAfterTokensLeft());
    o.put("crashed", crashed);
    o.put("hang", hung);
    o.put("slowdown", slowdown);
    o.put("error_rate", errorRate);
    o.put("refuse_connections", refusing);
    o.put("generated_tokens", generatedTokens.get());
    return o;
  }
}
