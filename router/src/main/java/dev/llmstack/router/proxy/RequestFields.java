package dev.llmstack.router.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.llmstack.protocol.openai.OpenAiError;
import dev.llmstack.protocol.openai.OpenAiException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * The fields routing needs, read in one streaming pass over the body without building a tree:
 * {@code model}, {@code user}, {@code stream}. Everything else is skipped (but still checked to be
 * well-formed JSON); the bytes forwarded to the engine are the client's, untouched.
 */
record RequestFields(String model, String user, boolean stream) {

  private static final JsonFactory JSON = new JsonFactory();

  static RequestFields read(ByteBuf body) {
    if (!body.isReadable()) {
      throw bad("The request body is empty; a JSON object is required.", null);
    }
    String model = null;
    String user = null;
    boolean stream = false;
    try (JsonParser p = JSON.createParser((InputStream) new ByteBufInputStream(body.duplicate()))) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw bad("The request body must be a JSON object.", null);
      }
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken v = p.nextToken();
        switch (name) {
          case "model" -> {
            if (v == JsonToken.VALUE_STRING) {
              model = p.getText();
            } else if (v != JsonToken.VALUE_NULL) {
              throw bad("model must be a string.", "model");
            }
          }
          case "user" -> {
            if (v == JsonToken.VALUE_STRING) {
              user = p.getText();
            } else {
              p.skipChildren();
            }
          }
          case "stream" -> {
            if (v == JsonToken.VALUE_TRUE || v == JsonToken.VALUE_FALSE) {
              stream = v == JsonToken.VALUE_TRUE;
            } else if (v != JsonToken.VALUE_NULL) {
              throw bad("stream must be a boolean.", "stream");
            }
          }
          default -> p.skipChildren();
        }
      }
      if (t != JsonToken.END_OBJECT) {
        throw bad("Malformed JSON body.", null);
      }
      if (p.nextToken() != null) {
        throw bad("Unexpected data after the JSON object.", null);
      }
    } catch (IOException e) {
      throw bad("JSON decode error: " + e.getMessage().lines().findFirst().orElse(""), null);
    }
    return new RequestFields(model, user, stream);
  }

  private static OpenAiException bad(String message, String param) {
    return new OpenAiException(OpenAiError.badRequest(message, param));
  }
}
