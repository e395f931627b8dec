package dev.llmstack.router.kvindex;

import it.unimi.dsi.fastutil.longs.Long2LongLinkedOpenHashMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The approximate prefix index: which blocks the router itself sent to each engine, as SGLang's
 * router keeps a radix tree of what it routed. No engine cooperation needed, so it works for any
 * OpenAI-compatible engine. Each engine's entries are an LRU of block keys capped at the engine's
 * KV capacity (what the engine could hold at most) and aged out after a TTL (what it probably
 * evicted since); an engine that leaves is dropped.
 */
public final class ApproximatePrefixIndex {

  private final long ttlNanos;
  private final int defaultCapacity;
  private final ConcurrentHashMap<String, EngineLru> engines = new ConcurrentHashMap<>();

  /** One engine's keys, least recently routed first, with the time each was last routed. */
  private static final class EngineLru {
    final Long2LongLinkedOpenHashMap lastSeen = new Long2LongLinkedOpenHashMap();
    volatile int capacity;

    EngineLru(int capacity) {
      this.capacity = capacity;
      lastSeen.defaultReturnValue(Long.MIN_VALUE);
    }
  }

  public ApproximatePrefixIndex(int defaultCapacityBlocks, long ttlNanos) {
    this.defaultCapacity = defaultCapacityBlocks;
    this.ttlNanos = ttlNanos;
  }

  /** Sets an engine's capacity in blocks (from its cache_config_info or KV usage). */
  public void capacity(String engine, int blocks) {
    lru(engine).capacity = blocks;
  }

  /** The engine's LRU, made on first use; looked up first, so a hit allocates no lambda. */
  private EngineLru lru(String engine) {
    EngineLru lru = engines.get(engine);
    return lru != null ? lru : engines.computeIfAbsent(engine, e -> new EngineLru(defaultCapacity));
  }

  /** Records that the first {@code count} blocks of {@code keys} were sent to {@code engine}. */
  public void record(String engine, long[] keys, int count, long nowNanos) {
    EngineLru lru = lru(engine);
    synchronized (lru) {
      for (int i = 0; i < count; i++) {
        lru.lastSeen.putAndMoveToLast(keys[i], nowNanos);
      }
      evict(lru, nowNanos);
    }
  }

  /**
   * Leading blocks of {@code keys} this router sent to {@code engine} and that have not aged out.
   */
  public int prefixDepth(String engine, long[] keys, int count, long nowNanos) {
    return prefixDepth(engine, keys, count, nowNanos, ttlNanos);
  }

  /**
   * As {@link #prefixDepth(String, long[], int, long)}, counting only blocks routed in the last
   * {@code maxAgeNanos}.
   */
  public int prefixDepth(String engine, long[] keys, int count, long nowNanos, long maxAgeNanos) {
    EngineLru lru = engines.get(engine);
    if (lru == null) {
      return 0;
    }
    synchronized (lru) {
      long oldest = nowNanos - Math.min(ttlNanos, maxAgeNanos);
      int d = 0;
      while (d < count) {
        long seen = lru.lastSeen.get(keys[d]);
        if (seen == Long.MIN_VALUE || seen < oldest) {
          break;
        }
        d++;
      }
      return d;
    }
  }

  /** An engine's capacity in blocks (the default until its cache_config_info was read). */
  public int capacity(String engine) {
    EngineLru lru = engines.get(engine);
    return lru == null ? defaultCapacity : lru.capacity;
  }

  public void remove(String engine) {
    engines.remove(engine);
  }

  public int size(String engine) {
    EngineLru lru = engines.get(engine);
    if (lru == null) {
      return 0;
    }
    synchronized (lru) {
      return lru.lastSeen.size();
    }
  }

  private void evict(EngineLru lru, long now) {
    long oldest = now - ttlNanos;
    while (!lru.lastSeen.isEmpty()
        && (lru.lastSeen.size() > lru.capacity
            || lru.lastSeen.get(lru.lastSeen.firstLongKey()) < oldest)) {
      lru.lastSeen.removeFirstLong();
    }
  }
}
