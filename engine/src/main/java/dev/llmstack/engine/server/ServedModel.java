package dev.llmstack.engine.server;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.llmstack.protocol.openai.OpenAiError;
import dev.llmstack.protocol.openai.OpenAiException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The model an engine serves: its name, context length and tokenizer, the LoRA adapters it serves
 * on top (name to path, as vLLM's --lora-modules), plus a cache of each generated token's
 * JSON-escaped UTF-8 text so streaming writes a token without encoding it again.
 */
public final class ServedModel {

  private final String name;
  private final int maxModelLen;
  private final PromptTokenizer tokenizer;
  private final long createdEpochSeconds = System.currentTimeMillis() / 1000;
  private final ConcurrentHashMap<Integer, byte[]> escaped = new ConcurrentHashMap<>();
  private final byte[] quotedName;
  private final Map<String, String> adapters = new ConcurrentHashMap<>();
  private final boolean runtimeLoraUpdating;

  public ServedModel(String name, int maxModelLen, PromptTokenizer tokenizer) {
    this(name, maxModelLen, tokenizer, Map.of(), false);
  }

  /**
   * @param adapters LoRA adapters served from the start, name to path
   * @param runtimeLoraUpdating whether /v1/load_lora_adapter and /v1/unload_lora_adapter work
   */
  public ServedModel(
      String name,
      int maxModelLen,
      PromptTokenizer tokenizer,
      Map<String, String> adapters,
      boolean runtimeLoraUpdating) {
    this.runtimeLoraUpdating = runtimeLoraUpdating;
    this.name = name;
    this.maxModelLen = maxModelLen;
    this.tokenizer = tokenizer;
    this.quotedName = jsonString(name);
    this.adapters.putAll(adapters);
  }

  /**
   * The LoRA adapter a request's {@code model} names, or null for the base model (or no model).
   *
   * @throws OpenAiException 404 when the name is neither the base model nor a loaded adapter
   */
  public String loraFor(String requested) {
    if (requested == null || requested.equals(name)) {
      return null;
    }
    if (adapters.containsKey(requested)) {
      return requested;
    }
    throw new OpenAiException(OpenAiError.modelNotFound(requested));
  }

  /** Loaded adapters, name to path, in no particular order. */
  public Map<String, String> adapters() {
    return Map.copyOf(adapters);
  }

  boolean runtimeLoraUpdating() {
    return runtimeLoraUpdating;
  }

  /** Loads an adapter at run time; false when one of that name is loaded already. */
  boolean loadAdapter(String adapter, String path) {
    return !adapter.equals(name) && adapters.putIfAbsent(adapter, path) == null;
  }

  /** Unloads an adapter; false when none of that name is loaded. */
  boolean unloadAdapter(String adapter) {
    return adapters.remove(adapter) != null;
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
