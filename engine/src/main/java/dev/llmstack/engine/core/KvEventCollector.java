package dev.llmstack.engine.core;

import dev.llmstack.protocol.kvevents.KvEvent;
import dev.llmstack.protocol.prefix.BlockHasher;
import it.unimi.dsi.fastutil.ints.IntArrayList;
import it.unimi.dsi.fastutil.longs.LongArrayList;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns prefix-cache changes into vLLM KV events, coalescing consecutive blocks of one chain into a
 * single BlockStored (as vLLM does per request per step) and consecutive evictions into one
 * BlockRemoved.
 */
final class KvEventCollector implements KvCacheManager.CacheListener {

  private static final String GPU = "GPU";
  private static final String CPU = "CPU";

  private final List<KvEvent> events = new ArrayList<>();
  private final LongArrayList storedKeys = new LongArrayList();
  private final IntArrayList storedTokens = new IntArrayList();
  private long storedParent;
  private int storedBlockSize;
  private String storedMedium = GPU;
  private String storedLora;
  private String storedRootSalt;
  private final LongArrayList removedKeys = new LongArrayList();
  private String removedMedium = GPU;
  private final boolean enabled;

  KvEventCollector(boolean enabled) {
    this.enabled = enabled;
  }

  @Override
  public void onBlockCached(long key, long parentKey, Sequence seq, int offset, int blockSize) {
    stored(GPU, key, parentKey, seq, offset, blockSize);
  }

  @Override
  public void onBlockOffloaded(long key, long parentKey, Sequence seq, int offset, int blockSize) {
    stored(CPU, key, parentKey, seq, offset, blockSize);
  }

  @Override
  public void onBlockEvicted(long key) {
    removed(GPU, key);
  }

  @Override
  public void onOffloadEvicted(long key) {
    removed(CPU, key);
  }

  private void stored(
      String medium, long key, long parentKey, Sequence seq, int offset, int blockSize) {
    if (!enabled) {
      return;
    }
    flushRemoved();
    if (!storedKeys.isEmpty()
        && (!storedMedium.equals(medium)
            || storedKeys.getLong(storedKeys.size() - 1) != parentKey)) {
      flushStored();
    }
    if (storedKeys.isEmpty()) {
      storedParent = parentKey;
      storedBlockSize = blockSize;
      storedMedium = medium;
      storedLora = seq.loraName();
      // vLLM's extra keys: the LoRA name on every block, the salt on a request's first block.
      storedRootSalt = parentKey == BlockHasher.ROOT ? seq.cacheSalt() : null;
    }
    storedKeys.add(key);
    storedTokens.addElements(storedTokens.size(), seq.tokenArray(), offset, blockSize);
  }

  private void removed(String medium, long key) {
    if (!enabled) {
      return;
    }
    flushStored();
    if (!removedKeys.isEmpty() && !removedMedium.equals(medium)) {
      flushRemoved();
    }
    removedMedium = medium;
    removedKeys.add(key);
  }

  @Override
  public void onAllCleared() {
    if (!enabled) {
      return;
    }
    flushStored();
    flushRemoved();
    events.add(new KvEvent.AllBlocksCleared());
  }

  /** The events since the last drain, or an empty list. */
  List<KvEvent> drain() {
    flushStored();
    flushRemoved();
    if (events.isEmpty()) {
      return List.of();
    }
    List<KvEvent> out = List.copyOf(events);
    events.clear();
    return out;
  }

  private void flushStored() {
    if (storedKeys.isEmpty()) {
      return;
    }
    Long parent = storedParent == BlockHasher.ROOT ? null : storedParent;
    events.add(
        new KvEvent.BlockStored(
            storedKeys.toLongArray(),
            parent,
            storedTokens.toIntArray(),
            storedBlockSize,
            null,
            storedMedium,
            storedLora,
            extraKeys(storedKeys.size())));
    storedKeys.clear();
    storedTokens.clear();
  }

  /** Per-block extra keys as newer vLLM sends them, or null when no block has any. */
  private List<List<Object>> extraKeys(int blocks) {
    if (storedLora == null && storedRootSalt == null) {
      return null;
    }
    List<List<Object>> out = new ArrayList<>(blocks);
    for (int i = 0; i < blocks; i++) {
      List<Object> keys = new ArrayList<>(2);
      if (storedLora != null) {
        keys.add(storedLora);
      }
      if (i == 0 && storedRootSalt != null) {
        keys.add(storedRootSalt);
      }
      out.add(keys.isEmpty() ? null : keys);
    }
    return out;
  }

  private void flushRemoved() {
    if (removedKeys.isEmpty()) {
      return;
    }
    events.add(new KvEvent.BlockRemoved(removedKeys.toLongArray(), removedMedium));
    removedKeys.clear();
  }
}
