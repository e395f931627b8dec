package dev.llmstack.engine.core;

import dev.llmstack.protocol.prefix.BlockHasher;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;

/**
 * The paged KV cache with automatic prefix caching, after vLLM V1's block pool and KV cache
 * manager.
 *
 * <p>Blocks hold {@code blockSize} tokens. A block whose tokens are all computed gets a chained key
 * and joins the prefix cache; when its last user frees it, it stays cached on a free queue and is
 * reused for a later request with the same prefix until allocation pops it from the queue's head
 * and evicts it. Freed blocks go to the queue's tail in reverse order (the tail of a chain is
 * evicted before its prefix), cached blocks to the tail and uncached ones to the head, so eviction
 * is least recently used first. KV usage is {@code 1 - free / total}, cached-but-free blocks
 * counting as free, as vLLM reports it.
 *
 * <p>Not thread-safe: the scheduler thread owns it.
 */
public final class KvCacheManager {

  /** Receives prefix-cache changes, in the order they happen (the KV-event stream). */
  public interface CacheListener {
    /**
     * A block became cached: the {@code blockSize} tokens at {@code offset} of {@code seq}, whose
     * LoRA adapter and cache salt are its extra keys.
     */
    void onBlockCached(long key, long parentKey, Sequence seq, int offset, int blockSize);

    void onBlockEvicted(long key);

    void onAllCleared();

    /** A block was copied to the CPU offload tier. */
    default void onBlockOffloaded(
        long key, long parentKey, Sequence seq, int offset, int blockSize) {}

    /** A block left the CPU offload tier. */
    default void onOffloadEvicted(long key) {}
  }

  private static final int NIL = -1;
  private static final long NO_KEY = 0;

  private final int numBlocks;
  private final int blockSize;
  private final boolean prefixCaching;
  private final BlockHasher hasher;
  private final CacheListener listener;

  private final int[] refCount;
  private final long[] key; // NO_KEY when the block is not in the prefix cache
  private final int[] prev;
  private final int[] next;
  private final Long2IntOpenHashMap cached;
  private final int head; // sentinel index numBlocks
  private int numFree;

  /** The CPU offload tier's blocks, least recently used first; null without one. */
  private final it.unimi.dsi.fastutil.longs.LongLinkedOpenHashSet offloaded;

  private final int offloadCapacity;

  public KvCacheManager(
      int numBlocks, int blockSize, boolean prefixCaching, CacheListener listener) {
    this(numBlocks, blockSize, prefixCaching, listener, 0);
  }

  /** With a write-through CPU offload tier of {@code offloadBlocks} blocks (0 for none). */
  public KvCacheManager(
      int numBlocks,
      int blockSize,
      boolean prefixCaching,
      CacheListener listener,
      int offloadBlocks) {
    if (numBlocks <= 0) {
      throw new IllegalArgumentException("numBlocks must be positive: " + numBlocks);
    }
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    this.prefixCaching = prefixCaching;
    this.hasher = new BlockHasher(blockSize);
    this.listener = listener;
    this.refCount = new int[numBlocks];
    this.key = new long[numBlocks];
    this.prev = new int[numBlocks + 1];
    this.next = new int[numBlocks + 1];
    this.cached = new Long2IntOpenHashMap(Math.min(numBlocks, 1 << 20));
    this.cached.defaultReturnValue(NIL);
    this.head = numBlocks;
    prev[head] = head;
    next[head] = head;
    for (int b = 0; b < numBlocks; b++) {
      linkBefore(b, head); // append at the tail
    }
    numFree = numBlocks;
    this.offloadCapacity = prefixCaching ? offloadBlocks : 0;
    this.offloaded =
        offloadCapacity > 0 ? new it.unimi.dsi.fastutil.longs.LongLinkedOpenHashSet() : null;
  }

  /** Blocks held in the CPU offload tier now. */
  public int numOffloadedBlocks() {
    return offloaded == null ? 0 : offloaded.size();
  }

  public int numBlocks() {
    return numBlocks;
  }

  public int blockSize() {
    return blockSize;
  }

  public BlockHasher hasher() {
    return hasher;
  }

  /** Free blocks, including cached blocks no request uses. */
  public int numFreeBlocks() {
    return numFree;
  }

  public double usage() {
    return 1.0 - (double) numFree / numBlocks;
  }

  /**
   * Leading blocks of {@code keys} (chained with this cache's hasher) held in the prefix cache now:
   * what an oracle that reads the engine's cache directly sees.
   */
  public int cachedPrefixBlocks(long[] keys, int count) {
    if (!prefixCaching) {
      return 0;
    }
    int hits = 0;
    while (hits < count && cached.containsKey(keys[hits])) {
      hits++;
    }
    while (offloaded != null && hits < count && offloaded.contains(keys[hits])) {
      hits++;
    }
    return hits;
  }

  /**
   * Leading blocks of {@code seq} after its first {@code gpuHits} that the CPU offload tier holds,
   * within the same cap as {@link #lookupPrefix}; they are touched (most recently used).
   */
  int lookupOffloaded(Sequence seq, int gpuHits) {
    if (offloaded == null) {
      return 0;
    }
    long[] keys = seq.blockKeys(hasher);
    int maxBlocks = Math.min(seq.numBlockKeys(), (seq.numTokens() - 1) / blockSize);
    int n = 0;
    while (gpuHits + n < maxBlocks && offloaded.contains(keys[gpuHits + n])) {
      offloaded.addAndMoveToLast(keys[gpuHits + n]);
      n++;
    }
    return n;
  }

  /** Write-through: a block newly cached in GPU memory is kept in CPU memory too. */
  private void offload(long k, long parent, Sequence seq, int offset) {
    if (offloaded == null) {
      return;
    }
    if (!offloaded.addAndMoveToLast(k)) {
      return; // already there (loaded back from CPU): now most recently used
    }
    listener.onBlockOffloaded(k, parent, seq, offset, blockSize);
    if (offloaded.size() > offloadCapacity) {
      listener.onOffloadEvicted(offloaded.removeFirstLong());
    }
  }

  /**
   * Number of leading full blocks of {@code seq} found in the prefix cache, capped so at least one
   * prompt token is left to compute (vLLM recomputes the last token to get its logits).
   */
  int lookupPrefix(Sequence seq) {
    if (!prefixCaching) {
      return 0;
    }
    long[] keys = seq.blockKeys(hasher);
    int maxBlocks = Math.min(seq.numBlockKeys(), (seq.numTokens() - 1) / blockSize);
    int hits = 0;
    while (hits < maxBlocks && cached.containsKey(keys[hits])) {
      hits++;
    }
    return hits;
  }

  /**
   * Gives {@code seq} its first {@code hitBlocks} blocks from the cache and enough fresh blocks to
   * hold {@code totalTokens} tokens, or does nothing and returns false when the free blocks do not
   * suffice.
   */
  boolean allocate(Sequence seq, int hitBlocks, int totalTokens) {
    int needed = blocksFor(totalTokens) - seq.numBlocks;
    long[] keys = hitBlocks > 0 ? seq.blockKeys(hasher) : null;
    int hitsToTake = 0;
    for (int i = 0; i < hitBlocks; i++) {
      if (refCount[cached.get(keys[i])] == 0) {
        hitsToTake++;
      }
    }
    if (needed - hitBlocks + hitsToTake > numFree) {
      return false;
    }
    for (int i = 0; i < hitBlocks; i++) {
      int b = cached.get(keys[i]);
      if (refCount[b]++ == 0) {
        unlink(b);
        numFree--;
      }
      seq.addBlock(b);
    }
    seq.numCachedBlocksRegistered = Math.max(seq.numCachedBlocksRegistered, hitBlocks);
    for (int i = hitBlocks; i < needed; i++) {
      seq.addBlock(popFree());
    }
    return true;
  }

  /** Number of blocks {@code numTokens} tokens occupy. */
  public int blocksFor(int numTokens) {
    return (numTokens + blockSize - 1) / blockSize;
  }

  /** Adds the blocks {@code seq} has completed (all tokens computed) to the prefix cache. */
  void cacheComputedBlocks(Sequence seq) {
    if (!prefixCaching) {
      return;
    }
    int full = Math.min(seq.numComputed / blockSize, seq.numBlocks);
    if (full <= seq.numCachedBlocksRegistered) {
      return;
    }
    long[] keys = seq.blockKeys(hasher);
    for (int i = seq.numCachedBlocksRegistered; i < full; i++) {
      int b = seq.blockTable[i];
      long k = keys[i];
      if (key[b] == NO_KEY && !cached.containsKey(k)) {
        key[b] = k;
        cached.put(k, b);
        long parent = i == 0 ? BlockHasher.ROOT : keys[i - 1];
        listener.onBlockCached(k, parent, seq, i * blockSize, blockSize);
        offload(k, parent, seq, i * blockSize);
      }
    }
    seq.numCachedBlocksRegistered = full;
  }

  /** Releases all of {@code seq}'s blocks, last block first. */
  void free(Sequence seq) {
    for (int i = seq.numBlocks - 1; i >= 0; i--) {
      int b = seq.blockTable[i];
      if (--refCount[b] == 0) {
        if (key[b] != NO_KEY) {
          linkBefore(b, head); // tail: evicted last
        } else {
          linkBefore(b, next[head]); // head: reused first
        }
        numFree++;
      }
    }
    seq.numBlocks = 0;
    seq.numCachedBlocksRegistered = 0;
  }

  /** Drops every cached block that no request uses (vLLM's reset_prefix_cache). */
  public boolean resetPrefixCache() {
    if (numFree != numBlocks) {
      return false; // vLLM refuses while blocks are in use
    }
    for (int b = 0; b < numBlocks; b++) {
      key[b] = NO_KEY;
    }
    cached.clear();
    listener.onAllCleared();
    return true;
  }

  private int popFree() {
    int b = next[head];
    if (b == head) {
      throw new IllegalStateException("no free KV block");
    }
    unlink(b);
    numFree--;
    if (key[b] != NO_KEY) {
      cached.remove(key[b]);
      listener.onBlockEvicted(key[b]);
      key[b] = NO_KEY;
    }
    refCount[b] = 1;
    return b;
  }

  private void unlink(int b) {
    next[prev[b]] = next[b];
    prev[next[b]] = prev[b];
    prev[b] = NIL;
    next[b] = NIL;
  }

  private void linkBefore(int b, int at) {
    int p = prev[at];
    next[p] = b;
    prev[b] = p;
    next[b] = at;
    prev[at] = b;
  }
}
