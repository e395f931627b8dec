package dev.llmstack.protocol.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A HuggingFace fast tokenizer (tokenizer.json, with tokenizer_config.json and
 * generation_config.json when present) through DJL's binding of the Rust {@code tokenizers}
 * library, so token ids are exactly the model's own.
 *
 * <p>Built with truncation and padding off: DJL otherwise truncates every input to 512 tokens.
 * Whether special tokens are added (Llama's {@code <|begin_of_text|>}) is chosen per call.
 *
 * <p>Thread-safe: the native tokenizer is immutable after loading and encodes and decodes from any
 * number of threads at once (each call gets its own native encoding). {@link #close()} must not
 * race with calls in flight; after it, calls fail with {@link IllegalStateException}.
 */
public final class HfTokenizer implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** End-of-turn tokens assumed to stop generation when a directory has no generation_config. */
  private static final List<String> KNOWN_END_TOKENS =
      List.of("<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>", "<|endoftext|>");

  private final Path dir;
  private final HuggingFaceTokenizer tokenizer;
  private final int vocabSize;
  private final Map<String, Integer> addedTokens;
  private final Set<Integer> specialIds;
  private final Map<String, String> specialTokens;
  private final int bosTokenId;
  private final int[] eosTokenIds;
  private final JsonNode config;
  private volatile int[] plainWords;

  private HfTokenizer(
      Path dir,
      HuggingFaceTokenizer tokenizer,
      Vocabulary vocab,
      JsonNode config,
      JsonNode generationConfig) {
    this.dir = dir;
    this.tokenizer = tokenizer;
    this.vocabSize = vocab.size;
    this.addedTokens = Collections.unmodifiableMap(vocab.added);
    this.specialIds = Set.copyOf(vocab.specialIds);
    this.config = config;
    Map<String, String> special = new HashMap<>();
    for (String name : List.of("bos_token", "eos_token", "pad_token", "unk_token")) {
      String text = tokenText(config.get(name));
      if (text != null) {
        special.put(name, text);
      }
    }
    this.specialTokens = Collections.unmodifiableMap(special);
    String bos = special.get("bos_token");
    this.bosTokenId = bos == null ? -1 : tokenId(bos);
    this.eosTokenIds = eosIds(special.get("eos_token"), generationConfig);
  }

  /**
   * Loads {@code dir/tokenizer.json} (and the two configs next to it when present).
   *
   * @throws IOException when the files cannot be read or the tokenizer cannot be built
   */
  public static HfTokenizer load(Path dir) throws IOException {
    Path json = dir.resolve("tokenizer.json");
    if (!Files.isRegularFile(json)) {
      throw new IOException("no tokenizer.json in " + dir);
    }
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true"); // never reach for a model hub
    }
    Vocabulary vocab = Vocabulary.read(json);
    JsonNode config = readJson(dir.resolve("tokenizer_config.json"));
    JsonNode generation = readJson(dir.resolve("generation_config.json"));
    HuggingFaceTokenizer t;
    try {
      t =
          HuggingFaceTokenizer.builder()
              .optTokenizerPath(dir)
              .optTruncation(false)
              .optPadding(false)
              .optAddSpecialTokens(false)
              .build();
    } catch (RuntimeException e) {
      throw new IOException("cannot load the tokenizer in " + dir + ": " + e.getMessage(), e);
    }
    return new HfTokenizer(dir, t, vocab, config, generation);
  }

  private static JsonNode readJson(Path file) throws IOException {
    return Files.isRegularFile(file) ? JSON.readTree(file.toFile()) : JSON.createObjectNode();
  }

  /** A special token in a config: a string, or an AddedToken object with its {@code content}. */
  static String tokenText(JsonNode n) {
    if (n == null || n.isNull()) {
      return null;
    }
    return n.isTextual() ? n.asText() : n.path("content").asText(null);
  }

  public Path directory() {
    return dir;
  }

  /** tokenizer_config.json as read (an empty object when the directory has none). */
  public JsonNode config() {
    return config;
  }

  /**
   * The token ids of {@code text}; with {@code addSpecialTokens} the tokenizer's post-processor
   * adds its tokens (Llama: BOS first; Qwen: none). Never truncated.
   */
  public int[] encode(String text, boolean addSpecialTokens) {
    // The raw binding skips DJL's Encoding object (tokens, offsets, masks): about 25% faster.
    TokenizersLibrary lib = TokenizersLibrary.LIB;
    long encoding = lib.encode(tokenizer.getHandle(), text, addSpecialTokens);
    long[] ids;
    try {
      ids = lib.getTokenIds(encoding);
    } finally {
      lib.deleteEncoding(encoding);
    }
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  /** The text of {@code ids}, optionally without special tokens. */
  public String decode(int[] ids, boolean skipSpecialTokens) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    return tokenizer.decode(l, skipSpecialTokens);
  }

  /** One more than the largest token id (base vocabulary and added tokens). */
  public int vocabSize() {
    return vocabSize;
  }

  /** The BOS token's id, or -1 when the tokenizer has none (Qwen3). */
  public int bosTokenId() {
    return bosTokenId;
  }

  /**
   * Tokens that end generation: the config's {@code eos_token} first, then generation_config.json's
   * {@code eos_token_id}s (as vLLM stops on both). Without a generation_config, the well-known
   * end-of-turn tokens the vocabulary has.
   */
  public int[] eosTokenIds() {
    return eosTokenIds.clone();
  }

  /**
   * Special token texts by template variable ({@code bos_token}, {@code eos_token}, {@code
   * pad_token}, {@code unk_token}), as tokenizer_config.json names them; absent ones are left out.
   */
  public Map<String, String> specialTokens() {
    return specialTokens;
  }

  /** The added special tokens (BOS, EOS, chat-template markers): text to id. */
  public Map<String, Integer> specialAddedTokens() {
    Map<String, Integer> out = new HashMap<>();
    addedTokens.forEach(
        (text, id) -> {
          if (specialIds.contains(id)) {
            out.put(text, id);
          }
        });
    return out;
  }

  /** The id of a token given by its text (added tokens directly), or -1 if it is not one token. */
  public int tokenId(String token) {
    Integer id = addedTokens.get(token);
    if (id != null) {
      return id;
    }
    int[] ids = encode(token, false);
    return ids.length == 1 ? ids[0] : -1;
  }

  /**
   * Tokens whose text is a single space followed by 2 to 10 lowercase ASCII letters and which
   * encode back to themselves alone. Each decodes on its own, and text made of them re-tokenizes to
   * the same tokens (the pre-tokenizer splits before every space), so the simulated engine can
   * generate text from them token by token. Computed once (a few hundred milliseconds), sorted.
   */
  public int[] plainWordTokenIds() {
    int[] words = plainWords;
    if (words == null) {
      synchronized (this) {
        words = plainWords;
        if (words == null) {
          words = findPlainWords();
          plainWords = words;
        }
      }
    }
    return words.clone();
  }

  private int[] findPlainWords() {
    List<Integer> out = new ArrayList<>();
    long[] one = new long[1];
    for (int id = 0; id < vocabSize; id++) {
      if (specialIds.contains(id)) {
        continue;
      }
      one[0] = id;
      String s = tokenizer.decode(one, false);
      if (isPlainWord(s)) {
        int[] back = encode(s, false);
        if (back.length == 1 && back[0] == id) {
          out.add(id);
        }
      }
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
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

  private int[] eosIds(String eosToken, JsonNode generationConfig) {
    Set<Integer> ids = new LinkedHashSet<>();
    if (eosToken != null) {
      int id = tokenId(eosToken);
      if (id >= 0) {
        ids.add(id);
      }
    }
    JsonNode gen = generationConfig.get("eos_token_id");
    if (gen != null && gen.isInt()) {
      ids.add(gen.asInt());
    } else if (gen != null && gen.isArray()) {
      gen.forEach(n -> ids.add(n.asInt()));
    } else {
      for (String t : KNOWN_END_TOKENS) {
        Integer id = addedTokens.get(t);
        if (id != null) {
          ids.add(id);
        }
      }
    }
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  @Override
  public void close() {
    tokenizer.close();
  }

  /** What tokenizer.json says about ids: the largest, and the added tokens. */
  private record Vocabulary(int size, Map<String, Integer> added, Set<Integer> specialIds) {

    /** Streams the file (10 MB for a 128k vocabulary) without building a tree. */
    static Vocabulary read(Path file) throws IOException {
      int max = -1;
      Map<String, Integer> added = new HashMap<>();
      Set<Integer> special = new java.util.HashSet<>();
      try (JsonParser p = JSON.getFactory().createParser(file.toFile())) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          throw new IOException(file + " is not a JSON object");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String field = p.currentName();
          JsonToken value = p.nextToken();
          if (field.equals("added_tokens") && value == JsonToken.START_ARRAY) {
            while (p.nextToken() == JsonToken.START_OBJECT) {
              JsonNode t = JSON.readTree(p);
              int id = t.path("id").asInt(-1);
              String content = t.path("content").asText(null);
              if (id >= 0 && content != null) {
                added.put(content, id);
                max = Math.max(max, id);
                if (t.path("special").asBoolean(false)) {
                  special.add(id);
                }
              }
            }
          } else if (field.equals("model") && value == JsonToken.START_OBJECT) {
            max = Math.max(max, maxModelId(p));
          } else {
            p.skipChildren();
          }
        }
      }
      if (max < 0) {
        throw new IOException(file + " has no vocabulary");
      }
      return new Vocabulary(max + 1, added, special);
    }

    /** The largest id in {@code model.vocab} (a map for BPE/WordPiece, a list for Unigram). */
    private static int maxModelId(JsonParser p) throws IOException {
      int max = -1;
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if (field.equals("vocab") && value == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            p.nextToken();
            max = Math.max(max, p.getIntValue());
          }
        } else if (field.equals("vocab") && value == JsonToken.START_ARRAY) {
          int n = 0;
          while (p.nextToken() != JsonToken.END_ARRAY) {
            p.skipChildren();
            n++;
          }
          max = Math.max(max, n - 1);
        } else {
          p.skipChildren();
        }
      }
      return max;
    }
  }
}
