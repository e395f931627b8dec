package dev.llmstack.protocol.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * An error in the OpenAI/vLLM shape: {@code {"error": {"message", "type", "param", "code"}}} where
 * {@code code} is the HTTP status.
 */
public record OpenAiError(int status, String type, String message, String param) {

  private static final JsonFactory JSON = new JsonFactory();

  public static OpenAiError badRequest(String message) {
    return new OpenAiError(400, "BadRequestError", message, null);
  }

  public static OpenAiError badRequest(String message, String param) {
    return new OpenAiError(400, "BadRequestError", message, param);
  }

  public static OpenAiError modelNotFound(String model) {
    return new OpenAiError(
        404, "NotFoundError", "The model `" + model + "` does not exist.", "model");
  }

  public static OpenAiError internal(String message) {
    return new OpenAiError(500, "InternalServerError", message, null);
  }

  public static OpenAiError unavailable(String message) {
    return new OpenAiError(503, "ServiceUnavailableError", message, null);
  }

  /** The JSON body, UTF-8. */
  public byte[] toJson() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(128 + message.length());
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeObjectFieldStart("error");
      g.writeStringField("message", message);
      g.writeStringField("type", type);
      g.writeStringField("param", param);
      g.writeNumberField("code", status);
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
