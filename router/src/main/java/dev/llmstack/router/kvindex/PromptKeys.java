package dev.llmstack.router.kvindex;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmstack.protocol.prefix.BlockHasher;
import dev.llmstack.protocol.tokenizer.ChatMessage;
import dev.llmstack.protocol.tokenizer.ModelTokenizer;
import dev.llmstack.router.routing.RouteRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Tokenizes a request the way the engine will (the model's own tokenizer and chat template) and
 * chains its token ids into block keys, so cache-aware routing can ask the KV index which engine
 * holds the prefix. Models without a known tokenizer get no keys (routing then treats every engine
 * as a miss). CPU work: runs off the event loops.
 */
public final class PromptKeys implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(PromptKeys.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A request's keys and prompt length. */
  public record Keys(long[] keys, int promptTokens, RouteRequest.KeySource source) {}

  /**
   * Characters per block when there is no tokenizer: about the 16 tokens of an engine block at the
   * ~4 characters per token of English text, so a depth in blocks still reads as tokens.
   */
  static final int CHARS_PER_BLOCK = 64;

  private final BlockHasher charHasher = new BlockHasher(CHARS_PER_BLOCK);

  private final Path tokenizerDir;
  private final BlockHasher hasher;
  private final Map<String, Optional<ModelTokenizer>> tokenizers = new ConcurrentHashMap<>();

  public PromptKeys(Path tokenizerDir, int blockSize) {
    this.tokenizerDir = tokenizerDir;
    this.hasher = new BlockHasher(blockSize);
  }

  /** The keys of a chat or completion body for the base model, or null when it has none. */
  public Keys compute(String model, ByteBuf body, boolean chat) {
    return compute(model, null, body, chat);
  }

  /**
   * The keys of a chat or completion body, or null when it cannot be tokenized.
   *
   * @param model the base model, whose tokenizer and chat template the engine applies
   * @param lora the LoRA adapter the request names, or null: vLLM hashes the adapter's name into
   *     every block, so an adapter's prompts never share KV blocks with the base model's
   */
  public Keys compute(String model, String lora, ByteBuf body, boolean chat) {
    Optional<ModelTokenizer> tok = tokenizers.computeIfAbsent(model, this::load);
    long loraKey = BlockHasher.stringKey(lora);
    try (InputStream in = new ByteBufInputStream(body.duplicate())) {
      JsonNode j = JSON.readTree(in);
      if (tok.isEmpty()) {
        return characterKeys(j, chat, loraKey);
      }
      int[] ids = chat ? chatIds(tok.get(), j) : promptIds(tok.get(), j);
      if (ids == null || ids.length == 0) {
        return null;
      }
      return new Keys(
          hasher.chain(ids, ids.length, loraKey, saltKey(j)),
          ids.length,
          RouteRequest.KeySource.TOKENS);
    } catch (java.io.IOException | RuntimeException e) {
      return null; // the engine will answer the malformed request; routing just has no keys
    }
  }

  /**
   * The fallback without a tokenizer: the prompt's characters (chat: each message's role and text)
   * chained in blocks of {@link #CHARS_PER_BLOCK}. Prompts sharing a text prefix share leading
   * keys, which is all the approximate index needs; token ids given directly are used as they are.
   */
  private Keys characterKeys(JsonNode j, boolean chat, long loraKey) {
    StringBuilder text = new StringBuilder();
    if (chat) {
      JsonNode m = j.get("messages");
      if (m == null || !m.isArray()) {
        return null;
      }
      for (JsonNode msg : m) {
        ChatMessage cm = ChatMessage.fromJson(msg);
        if (cm != null) {
          text.append('<').append(cm.role()).append('>').append(cm.content()).append('\n');
        }
      }
    } else {
      JsonNode p = j.get("prompt");
      if (p != null && p.isArray() && !p.isEmpty() && p.get(0).isNumber()) {
        int[] ids = new int[p.size()];
        for (int i = 0; i < ids.length; i++) {
          ids[i] = p.get(i).asInt();
        }
        return new Keys(
            hasher.chain(ids, ids.length, loraKey, saltKey(j)),
            ids.length,
            RouteRequest.KeySource.TOKENS);
      }
      if (p == null || !(p.isTextual() || (p.isArray() && !p.isEmpty() && p.get(0).isTextual()))) {
        return null;
      }
      text.append(p.isTextual() ? p.asText() : p.get(0).asText());
    }
    if (text.isEmpty()) {
      return null;
    }
    int[] chars = text.codePoints().toArray();
    return new Keys(
        charHasher.chain(chars, chars.length, loraKey, saltKey(j)),
        Math.max(1, chars.length / 4),
        RouteRequest.KeySource.CHARACTERS);
  }

  /**
   * vLLM hashes cache_salt into the first block only, so salted prompts never share blocks with
   * unsalted ones or another salt: keys chained the same way never match across salts.
   */
  private static long saltKey(JsonNode body) {
    JsonNode salt = body.get("cache_salt");
    return salt != null && salt.isTextual() ? BlockHasher.stringKey(salt.asText()) : 0;
  }

  private static int[] chatIds(ModelTokenizer tok, JsonNode j) {
    JsonNode m = j.get("messages");
    if (m == null || !m.isArray() || !tok.hasChatTemplate()) {
      return null;
    }
    List<ChatMessage> messages = new ArrayList<>();
    for (JsonNode msg : m) {
      messages.add(ChatMessage.fromJson(msg)); // text parts joined as vLLM joins them
    }
    boolean addGen = j.path("add_generation_prompt").asBoolean(true);
    boolean cont = j.path("continue_final_message").asBoolean(false);
    return tok.encodeChat(messages, addGen && !cont, cont, Map.of());
  }

  private static int[] promptIds(ModelTokenizer tok, JsonNode j) {
    JsonNode p = j.get("prompt");
    if (p == null) {
      return null;
    }
    if (p.isTextual()) {
      return tok.encode(p.asText(), j.path("add_special_tokens").asBoolean(true));
    }
    if (p.isArray() && !p.isEmpty()) {
      JsonNode first = p.get(0);
      if (first.isTextual()) {
        return tok.encode(first.asText(), true);
      }
      JsonNode arr = first.isArray() ? first : p;
      int[] ids = new int[arr.size()];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = arr.get(i).asInt();
      }
      return ids;
    }
    return null;
  }

  private Optional<ModelTokenizer> load(String model) {
    try {
      return Optional.of(ModelTokenizer.forModel(model, tokenizerDir));
    } catch (java.io.IOException | RuntimeException e) {
      LOG.warning(
          () ->
              "no tokenizer for "
                  + model
                  + ", cache-aware routing sees no prefix: "
                  + e.getMessage());
      return Optional.empty();
    }
  }

  @Override
  public void close() {
    tokenizers.values().forEach(t -> t.ifPresent(ModelTokenizer::close));
  }
}
