package dev.llmstack.protocol.kvevents;

import java.util.List;

/**
 * One KV-cache event as vLLM publishes it (vllm/distributed/kv_events.py). Block hashes are carried
 * as 64-bit values: vLLM's default wire form (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=1) is the low 64
 * bits of the 32-byte hash; a byte-string hash is folded to 64 bits the same way when decoded.
 */
public sealed interface KvEvent {

  /** Full blocks became cached. {@code tokenIds} holds the tokens of all blocks, concatenated. */
  record BlockStored(
      long[] blockHashes,
      Long parentBlockHash,
      int[] tokenIds,
      int blockSize,
      Integer loraId,
      String medium,
      String loraName)
      implements KvEvent {}

  /** Blocks were evicted from the cache. */
  record BlockRemoved(long[] blockHashes, String medium) implements KvEvent {}

  /** The whole prefix cache was reset. */
  record AllBlocksCleared() implements KvEvent {}

  /** One scheduler step's events: {@code [ts, [events...], data_parallel_rank]}. */
  record Batch(double timestamp, List<KvEvent> events, Integer dataParallelRank) {}
}
