package dev.llmstack.router.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.llmstack.protocol.openai.OpenAiError;
import dev.llmstack.protocol.openai.OpenAiException;
import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import java.io.IOException;

/**
 * The fields routing needs, read in one streaming pass over the body without building a tree:
 * {@code model}, {@code user}, {@code stream}. Everything else is skipped (but still checked to be
 * well-formed JSON); the bytes forwarded to the engine are the client's, untouched.
 */
record RequestFields(String model, String user, boolean stream) {

  private static final JsonFactory JSON = new JsonFactory();

  /** Bodies up to this size are parsed from a per-thread copy; larger ones get their own array. */
  private static final int SCRATCH_MAX = 1 << 20;

  /**
   * A per-event-loop array the body is copied into for parsing: Jackson parses a byte array without
   * the stream wrappers and read buffer an InputStream needs, and the array is reused.
   */
  private static final FastThreadLocal<byte[]> SCRATCH =
      new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
          return new byte[4096];
        }
      };

  private static byte[] bytes(ByteBuf body, int len) {
    if (len > SCRATCH_MAX) {
      return new byte[len];
    }
    byte[] scratch = SCRATCH.get();
    if (scratch.length < len) {
      scratch = new byte[Math.min(SCRATCH_MAX, Math.max(len, scratch.length * 2))];
      SCRATCH.set(scratch);
    }
    return scratch;
  }

  static RequestFields read(ByteBuf body) {
    if (!body.isReadable()) {
      throw bad("The request body is empty; a JSON object is required.", null);
    }
    String model = null;
    String user = null;
    boolean stream = false;
    int len = body.readableBytes();
    byte[] bytes;
    int offset;
    if (body.hasArray()) {
      bytes = body.array();
      offset = body.arrayOffset() + body.readerIndex();
    } else {
      bytes = bytes(body, len);
      offset = 0;
      body.getBytes(body.readerIndex(), bytes, 0, len);
    }
    try (JsonParser p = JSON.createParser(bytes, offset, len)) {
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
