package dev.llmstack.protocol.kvevents;

import java.util.List;

/**
 * One KV-cache event as vLLM publishes it (vllm/distributed/kv_events.py). Block hashes are carried
 * as 64-bit values: vLLM's default wire form (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=1) is the low 64
 * bits of the 32-byte hash; a byte-string hash is folded to 64 bits the same way when decoded.
 */
public sealed interface KvEvent {

  /**
   * Full blocks became cached. {@code tokenIds} holds the tokens of all blocks, concatenated.
   * {@code extraKeys} (newer vLLM; null when absent) has one entry per block: the extra keys hashed
   * into that block (LoRA name, multimodal items, cache salt on a chain's first block, prompt
   * embedding hashes) as a list of msgpack values (String, Long, Double, Boolean, byte[], nested
   * List), or null for a block without any. {@link ExtraKeys} reads the ones routing needs.
   */
  record BlockStored(
      long[] blockHashes,
      Long parentBlockHash,
      int[] tokenIds,
      int blockSize,
      Integer loraId,
      String medium,
      String loraName,
      List<List<Object>> extraKeys)
      implements KvEvent {

    /** An event without per-block extra keys (released vLLM versions send none). */
    public BlockStored(
        long[] blockHashes,
        Long parentBlockHash,
        int[] tokenIds,
        int blockSize,
        Integer loraId,
        String medium,
        String loraName) {
      this(blockHashes, parentBlockHash, tokenIds, blockSize, loraId, medium, loraName, null);
    }
  }

  /** Blocks were evicted from the cache. */
  record BlockRemoved(long[] blockHashes, String medium) implements KvEvent {}

  /** The whole prefix cache was reset. */
  record AllBlocksCleared() implements KvEvent {}

  /** One scheduler step's events: {@code [ts, [events...], data_parallel_rank]}. */
  record Batch(double timestamp, List<KvEvent> events, Integer dataParallelRank) {}
}
