package dev.llmstack.protocol.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One served model's tokenizer and chat template, tokenizing requests the way vLLM does so that
 * token counts and multi-turn prefix sharing are the real model's. Used by the simulated engine
 * and, for cache-aware routing, by the router. Thread-safe.
 */
public final class ModelTokenizer implements AutoCloseable {

  private final HfTokenizer tokenizer;
  private final ChatTemplate template;

  /** Piece-wise chat encoding with a cache, or null when it would not match whole-text encoding. */
  private final SegmentedEncoder segmented;

  private ModelTokenizer(HfTokenizer tokenizer, ChatTemplate template) {
    this.tokenizer = tokenizer;
    this.template = template;
    this.segmented = template == null ? null : checkedSegmentedEncoder(tokenizer, template);
  }

  /**
   * A segmented encoder if, on a sample conversation, it gives exactly the ids of encoding the
   * whole text (true of byte-level BPE tokenizers such as Llama-3's and Qwen's, which split out
   * special tokens before pre-tokenizing; a tokenizer that adds a prefix space per piece would fail
   * and keep whole-text encoding).
   */
  private static SegmentedEncoder checkedSegmentedEncoder(
      HfTokenizer tokenizer, ChatTemplate template) {
    SegmentedEncoder enc =
        new SegmentedEncoder(tokenizer, tokenizer.specialAddedTokens(), 32L << 20);
    try {
      String sample =
          template.render(
              List.of(
                  new ChatMessage("system", "You are helpful.\n  Answer briefly; no lists."),
                  new ChatMessage("user", "Hello there! What's 2+2?\n\n  (Be exact.)"),
                  new ChatMessage("assistant", " It's 4 \u2014 four. "),
                  new ChatMessage("user", "thanks\r\nBye")),
              true,
              false,
              Map.of());
      return java.util.Arrays.equals(tokenizer.encode(sample, false), enc.encode(sample))
          ? enc
          : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  /**
   * The tokenizer of {@code modelName}: from {@code tokenizerDir} when given (the {@code
   * --tokenizer} flag), else its family's files, fetched on first use into the cache.
   *
   * @throws IOException for an unknown model without a directory, a failed fetch or unreadable
   *     files
   */
  public static ModelTokenizer forModel(String modelName, Path tokenizerDir) throws IOException {
    return load(TokenizerFiles.resolve(modelName, tokenizerDir));
  }

  /**
   * Loads a HuggingFace tokenizer directory. The chat template is {@code chat_template.jinja} when
   * present (transformers' current layout), else tokenizer_config.json's {@code chat_template} (a
   * string, or the one named "default" of a list).
   */
  public static ModelTokenizer load(Path dir) throws IOException {
    HfTokenizer tok = HfTokenizer.load(dir);
    try {
      String source = chatTemplateSource(dir, tok.config());
      ChatTemplate template = source == null ? null : new ChatTemplate(source, tok.specialTokens());
      return new ModelTokenizer(tok, template);
    } catch (IOException | RuntimeException e) {
      tok.close();
      throw e;
    }
  }

  private static String chatTemplateSource(Path dir, JsonNode config) throws IOException {
    Path jinja = dir.resolve("chat_template.jinja");
    if (Files.isRegularFile(jinja)) {
      return Files.readString(jinja, StandardCharsets.UTF_8);
    }
    JsonNode t = config.get("chat_template");
    if (t != null && t.isTextual()) {
      return t.asText();
    }
    if (t != null && t.isArray()) {
      for (JsonNode named : t) {
        if ("default".equals(named.path("name").asText())) {
          return named.path("template").asText();
        }
      }
    }
    return null;
  }

  public Path directory() {
    return tokenizer.directory();
  }

  /** The underlying tokenizer. */
  public HfTokenizer tokenizer() {
    return tokenizer;
  }

  public boolean hasChatTemplate() {
    return template != null;
  }

  /**
   * A chat request's prompt tokens: the rendered chat template, tokenized without adding special
   * tokens (the template writes BOS itself), as vLLM's chat endpoint does by default.
   *
   * @param templateKwargs {@code chat_template_kwargs} (e.g. {@code enable_thinking}); may be null
   * @throws ChatTemplate.TemplateException when the template rejects the messages (vLLM: 400)
   */
  public int[] encodeChat(
      List<ChatMessage> messages,
      boolean addGenerationPrompt,
      boolean continueFinalMessage,
      Map<String, ?> templateKwargs) {
    String text = renderChat(messages, addGenerationPrompt, continueFinalMessage, templateKwargs);
    return segmented != null ? segmented.encode(text) : tokenizer.encode(text, false);
  }

  /** Chat-text pieces served from the piece cache so far (-1 when piece-wise encoding is off). */
  public long chatPieceHits() {
    return segmented == null ? -1 : segmented.hits();
  }

  /** The chat template's text for {@code messages} (what {@link #encodeChat} tokenizes). */
  public String renderChat(
      List<ChatMessage> messages,
      boolean addGenerationPrompt,
      boolean continueFinalMessage,
      Map<String, ?> templateKwargs) {
    if (template == null) {
      throw new ChatTemplate.TemplateException(
          "this tokenizer has no chat template; use /v1/completions");
    }
    return template.render(messages, addGenerationPrompt, continueFinalMessage, templateKwargs);
  }

  /**
   * A completion prompt's tokens, with the tokenizer's special tokens added (Llama: BOS), as vLLM's
   * completions endpoint does by default.
   */
  public int[] encodePrompt(String text) {
    return tokenizer.encode(text, true);
  }

  public int[] encode(String text, boolean addSpecialTokens) {
    return tokenizer.encode(text, addSpecialTokens);
  }

  public String decode(int[] ids, boolean skipSpecialTokens) {
    return tokenizer.decode(ids, skipSpecialTokens);
  }

  /** Text for the user: special tokens left out. */
  public String decode(int[] ids) {
    return tokenizer.decode(ids, true);
  }

  public int vocabSize() {
    return tokenizer.vocabSize();
  }

  /** The BOS token's id, or -1 when the tokenizer has none. */
  public int bosTokenId() {
    return tokenizer.bosTokenId();
  }

  /** Tokens that end generation; the first is the tokenizer's own EOS. */
  public int[] eosTokenIds() {
    return tokenizer.eosTokenIds();
  }

  /** See {@link HfTokenizer#plainWordTokenIds()}. */
  public int[] plainWordTokenIds() {
    return tokenizer.plainWordTokenIds();
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
