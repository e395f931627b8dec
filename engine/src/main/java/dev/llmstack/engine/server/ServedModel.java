package dev.llmstack.engine.server;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The model an engine serves: its name, context length and tokenizer, plus a cache of each
 * generated token's JSON-escaped UTF-8 text so streaming writes a token without encoding it again.
 */
public final class ServedModel {

  private final String name;
  private final int maxModelLen;
  private final PromptTokenizer tokenizer;
  private final long createdEpochSeconds = System.currentTimeMillis() / 1000;
  private final ConcurrentHashMap<Integer, byte[]> escaped = new ConcurrentHashMap<>();
  private final byte[] quotedName;

  public ServedModel(String name, int maxModelLen, PromptTokenizer tokenizer) {
    this.name = name;
    this.maxModelLen = maxModelLen;
    this.tokenizer = tokenizer;
    this.quotedName = jsonString(name);
  }

  public String name() {
    return name;
  }

  public int maxModelLen() {
    return maxModelLen;
  }

  public PromptTokenizer tokenizer() {
    return tokenizer;
  }

  public long created() {
    return createdEpochSeconds;
  }

  /** The model name as a JSON string literal, quotes included. */
  byte[] quotedName() {
    return quotedName;
  }

  /** JSON-escaped UTF-8 bytes (no quotes) of a generated token's text. */
  byte[] escapedToken(int tokenId, String text) {
    byte[] cached = escaped.get(tokenId);
    if (cached == null) {
      cached = JsonStringEncoder.getInstance().quoteAsUTF8(text);
      escaped.put(tokenId, cached);
    }
    return cached;
  }

  static byte[] escape(String text) {
    return JsonStringEncoder.getInstance().quoteAsUTF8(text);
  }

  static byte[] jsonString(String s) {
    byte[] body = escape(s);
    byte[] out = new byte[body.length + 2];
    out[0] = '"';
    System.arraycopy(body, 0, out, 1, body.length);
    out[out.length - 1] = '"';
    return out;
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
