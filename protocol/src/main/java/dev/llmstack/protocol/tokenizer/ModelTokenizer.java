package dev.llmstack.protocol.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One served model's tokenizer and chat template, so token counts and multi-turn prefix sharing are
 * exactly the real model's. Used by the simulated engine and, for cache-aware routing, by the
 * router.
 */
public final class ModelTokenizer implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;
  private final HfTokenizer tokenizer;
  private final ChatTemplate template;
  private final int[] eosTokenIds;
  private volatile int[] plainWords;

  private ModelTokenizer(Path dir, HfTokenizer tokenizer, ChatTemplate template, int[] eos) {
    this.dir = dir;
    this.tokenizer = tokenizer;
    this.template = template;
    this.eosTokenIds = eos;
  }

  /**
   * The tokenizer of {@code modelName}, from {@code dir} when given, else fetched for the model's
   * family.
   */
  public static ModelTokenizer forModel(String modelName, Path dir) throws IOException {
    return load(TokenizerFiles.resolve(modelName, dir));
  }

  /** Loads a HuggingFace tokenizer directory. */
  public static ModelTokenizer load(Path dir) throws IOException {
    HfTokenizer tok = HfTokenizer.load(dir);
    JsonNode cfg = JSON.createObjectNode();
    Path cfgFile = dir.resolve("tokenizer_config.json");
    if (Files.isRegularFile(cfgFile)) {
      cfg = JSON.readTree(cfgFile.toFile());
    }
    String bos = tokenText(cfg.get("bos_token"));
    String eos = tokenText(cfg.get("eos_token"));
    ChatTemplate template = null;
    JsonNode t = cfg.get("chat_template");
    if (t != null && t.isTextual()) {
      template = new ChatTemplate(t.asText(), bos, eos);
    } else if (t != null && t.isArray()) {
      for (JsonNode named : t) {
        if ("default".equals(named.path("name").asText())) {
          template = new ChatTemplate(named.path("template").asText(), bos, eos);
        }
      }
    }
    List<Integer> eosIds = new ArrayList<>();
    for (String special :
        List.of(
            eos, "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>", "<|endoftext|>")) {
      if (special == null || special.isEmpty()) {
        continue;
      }
      int[] ids = tok.encode(special, false);
      if (ids.length == 1 && !eosIds.contains(ids[0])) {
        eosIds.add(ids[0]);
      }
    }
    return new ModelTokenizer(
        dir, tok, template, eosIds.stream().mapToInt(Integer::intValue).toArray());
  }

  private static String tokenText(JsonNode n) {
    if (n == null || n.isNull()) {
      return null;
    }
    return n.isTextual() ? n.asText() : n.path("content").asText(null);
  }

  public Path directory() {
    return dir;
  }

  public boolean hasChatTemplate() {
    return template != null;
  }

  /**
   * Renders the chat template and tokenizes it without adding special tokens (the template has
   * them).
   */
  public int[] encodeChat(
      List<ChatMessage> messages,
      boolean addGenerationPrompt,
      boolean continueFinalMessage,
      Map<String, Object> templateKwargs) {
    return tokenizer.encode(
        renderChat(messages, addGenerationPrompt, continueFinalMessage, templateKwargs), false);
  }

  public String renderChat(
      List<ChatMessage> messages,
      boolean addGenerationPrompt,
      boolean continueFinalMessage,
      Map<String, Object> templateKwargs) {
    if (template == null) {
      throw new ChatTemplate.TemplateException(
          "this tokenizer has no chat template; use /v1/completions");
    }
    return template.render(messages, addGenerationPrompt, continueFinalMessage, templateKwargs);
  }

  public int[] encode(String text, boolean addSpecialTokens) {
    return tokenizer.encode(text, addSpecialTokens);
  }

  public String decode(int[] ids, boolean skipSpecialTokens) {
    return tokenizer.decode(ids, skipSpecialTokens);
  }

  /** Tokens that end generation (EOS and the chat end-of-turn tokens). */
  public int[] eosTokenIds() {
    return eosTokenIds.clone();
  }

  /**
   * Tokens whose text is one space followed by 2 to 10 lowercase ASCII letters: each decodes on its
   * own, so text generated from them streams token by token and re-tokenizes to the same count.
   */
  public int[] plainWordTokenIds() {
    int[] words = plainWords;
    if (words == null) {
      words = findPlainWords();
      plainWords = words;
    }
    return words;
  }

  /**
   * Candidates come from the vocabulary in tokenizer.json (byte-level BPE writes a leading space as
   * 'Ġ'); each is kept only if it decodes to " word" and encodes back to itself.
   */
  private int[] findPlainWords() {
    List<Integer> out = new ArrayList<>();
    try (com.fasterxml.jackson.core.JsonParser p =
        JSON.getFactory().createParser(dir.resolve("tokenizer.json").toFile())) {
      if (!seekVocab(p)) {
        return new int[0];
      }
      int[] one = new int[1];
      while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
        String piece = p.currentName();
        p.nextToken();
        int id = p.getIntValue();
        if (piece.length() >= 3 && piece.length() <= 11 && piece.charAt(0) == '\u0120') {
          one[0] = id;
          String s = tokenizer.decode(one, false);
          if (isPlainWord(s)) {
            int[] back = tokenizer.encode(s, false);
            if (back.length == 1 && back[0] == id) {
              out.add(id);
            }
          }
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out.stream().mapToInt(Integer::intValue).sorted().toArray();
  }

  /** Moves the parser to just inside {@code model.vocab}. */
  private static boolean seekVocab(com.fasterxml.jackson.core.JsonParser p) throws IOException {
    if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
      return false;
    }
    while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
      String name = p.currentName();
      p.nextToken();
      if (!name.equals("model")) {
        p.skipChildren();
        continue;
      }
      while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
        String field = p.currentName();
        com.fasterxml.jackson.core.JsonToken t = p.nextToken();
        if (field.equals("vocab") && t == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
          return true;
        }
        p.skipChildren();
      }
      return false;
    }
    return false;
  }

  static boolean isPlainWord(String s) {
    int n = s.length();
    if (n < 3 || n > 11 || s.charAt(0) != ' ') {
      return false;
    }
    for (int i = 1; i < n; i++) {
      char c = s.charAt(i);
      if (c < 'a' || c > 'z') {
        return false;
      }
    }
    return true;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
