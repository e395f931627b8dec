package dev.llmstack.protocol.kvevents;

import java.util.List;

/**
 * Reads what routing needs from a BlockStored's per-block {@code extra_keys}. vLLM builds each
 * block's tuple in a fixed order (vllm/v1/core/kv_cache_utils.py, generate_block_hash_extra_keys):
 * the LoRA name, then one {@code (identifier, offset)} pair per multimodal item overlapping the
 * block, then the cache salt on the request's first block only, then prompt-embedding hashes
 * (bytes). So the top-level strings of a tuple are the LoRA name (if any) followed by the salt
 * (only in block 0); multimodal items are nested tuples and embedding hashes are bytes.
 */
public final class ExtraKeys {

  private ExtraKeys() {}

  /**
   * The LoRA adapter the blocks belong to: the event's {@code lora_name}, else the first string of
   * a tuple that cannot hold a salt (any block but a chain's very first), else null.
   */
  public static String loraName(KvEvent.BlockStored s) {
    if (s.loraName() != null) {
      return s.loraName();
    }
    List<List<Object>> extra = s.extraKeys();
    if (extra == null) {
      return null;
    }
    for (int i = s.parentBlockHash() == null ? 1 : 0; i < extra.size(); i++) {
      String first = firstString(extra.get(i), 0);
      if (first != null) {
        return first;
      }
    }
    // Only a chain's first block: one string is the LoRA name when a LoRA id says there is one.
    if (s.loraId() != null && s.parentBlockHash() == null && !extra.isEmpty()) {
      return firstString(extra.get(0), 0);
    }
    return null;
  }

  /**
   * The cache salt of a chain that starts at the root (no parent), or null: the string after the
   * LoRA name in the first block's tuple.
   */
  public static String cacheSalt(KvEvent.BlockStored s) {
    List<List<Object>> extra = s.extraKeys();
    if (s.parentBlockHash() != null || extra == null || extra.isEmpty()) {
      return null;
    }
    return firstString(extra.get(0), loraName(s) != null ? 1 : 0);
  }

  /** The top-level string of a tuple after {@code skip} others, or null. */
  private static String firstString(List<Object> tuple, int skip) {
    if (tuple == null) {
      return null;
    }
    for (Object o : tuple) {
      if (o instanceof String str) {
        if (skip-- == 0) {
          return str;
        }
      }
    }
    return null;
  }
}
