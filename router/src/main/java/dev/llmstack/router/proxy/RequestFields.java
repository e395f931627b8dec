package dev.llmstack.router.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
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
   * Bodies one parser reads before a fresh one replaces it: its table of field names keeps every
   * name it has seen, so a client inventing names cannot grow it for long.
   */
  static final int BODIES_PER_PARSER = 4096;

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

  /**
   * One parser per event loop, fed the bodies one after another as a stream of JSON values.
   * Jackson's non-blocking parser reads a stream of root values and can be fed more input after
   * each, so it is built once, not per request: a parser made per body allocated 888 bytes (its
   * contexts, symbol table, I/O context and text buffer), half of what the router allocated per
   * request; reused, 97 (RelayBenchmark.requestFields, session 11).
   */
  private static final class BodyParser {
    final JsonParser parser;
    final ByteArrayFeeder feeder;
    long fed; // bytes fed before the current body: the parser's offsets count from its first
    int bodies;

    BodyParser() {
      try {
        parser = JSON.createNonBlockingByteArrayParser();
      } catch (IOException e) { // declared, but nothing is read when a parser is made
        throw new java.io.UncheckedIOException(e);
      }
      feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
    }
  }

  private static final FastThreadLocal<BodyParser> PARSER =
      new FastThreadLocal<>() {
        @Override
        protected BodyParser initialValue() {
          return new BodyParser();
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
    BodyParser bp = PARSER.get();
    if (bp.bodies >= BODIES_PER_PARSER) {
      bp = new BodyParser();
      PARSER.set(bp);
    }
    boolean clean = false;
    try {
      RequestFields fields = read(bp, bytes, offset, len);
      clean = true;
      return fields;
    } catch (IOException e) {
      throw bad("JSON decode error: " + e.getMessage().lines().findFirst().orElse(""), null);
    } finally {
      if (!clean) {
        PARSER.set(new BodyParser()); // stopped mid-value: its state would spill into the next body
      }
    }
  }

  private static RequestFields read(BodyParser bp, byte[] bytes, int offset, int len)
      throws IOException {
    JsonParser p = bp.parser;
    bp.feeder.feedInput(bytes, offset, offset + len);
    String model = null;
    String user = null;
    boolean stream = false;
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
            skip(p, v);
            throw bad("model must be a string.", "model");
          }
        }
        case "user" -> {
          if (v == JsonToken.VALUE_STRING) {
            user = p.getText();
          } else {
            skip(p, v);
          }
        }
        case "stream" -> {
          if (v == JsonToken.VALUE_TRUE || v == JsonToken.VALUE_FALSE) {
            stream = v == JsonToken.VALUE_TRUE;
          } else {
            skip(p, v);
            if (v != JsonToken.VALUE_NULL) {
              throw bad("stream must be a boolean.", "stream");
            }
          }
        }
        default -> skip(p, v);
      }
    }
    if (t != JsonToken.END_OBJECT) {
      throw bad("Malformed JSON body.", null);
    }
    // The object must end the body, bar whitespace. The parser cannot say so itself: to it the
    // bodies are one stream, and bytes after the object may begin a value it waits to complete.
    int end = offset + (int) (p.currentLocation().getByteOffset() - bp.fed);
    for (int i = end; i < offset + len; i++) {
      byte b = bytes[i];
      if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
        throw bad("Unexpected data after the JSON object.", null);
      }
    }
    if (p.nextToken() != JsonToken.NOT_AVAILABLE) { // only whitespace was left to read
      throw bad("Unexpected data after the JSON object.", null);
    }
    bp.fed += len;
    bp.bodies++;
    return new RequestFields(model, user, stream);
  }

  /** Skips the value {@code v} starts; a body that ends inside it is malformed. */
  private static void skip(JsonParser p, JsonToken v) throws IOException {
    if (v == JsonToken.NOT_AVAILABLE) {
      throw bad("Malformed JSON body: it ends inside a value.", null);
    }
    if (!v.isStructStart()) {
      return;
    }
    for (int depth = 1; depth > 0; ) {
      JsonToken x = p.nextToken();
      if (x == JsonToken.NOT_AVAILABLE) {
        throw bad("Malformed JSON body: it ends inside a value.", null);
      }
      if (x.isStructStart()) {
        depth++;
      } else if (x.isStructEnd()) {
        depth--;
      }
    }
  }

  private static OpenAiException bad(String message, String param) {
    return new OpenAiException(OpenAiError.badRequest(message, param));
  }
}
