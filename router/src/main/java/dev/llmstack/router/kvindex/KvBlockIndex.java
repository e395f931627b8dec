package dev.llmstack.router.kvindex;

import dev.llmstack.protocol.kvevents.ExtraKeys;
import dev.llmstack.protocol.kvevents.KvEvent;
import dev.llmstack.protocol.prefix.BlockHasher;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import it.unimi.dsi.fastutil.longs.Long2LongOpenHashMap;
import it.unimi.dsi.fastutil.longs.Long2ObjectOpenHashMap;
import it.unimi.dsi.fastutil.objects.Object2IntOpenHashMap;
import java.util.ArrayList;
import java.util.List;

/**
 * The precise prefix index: which engine holds which KV blocks, fed by the engines' KV events.
 *
 * <p>The router keys blocks with its own chain over token ids ({@link BlockHasher}), so it never
 * needs to reproduce an engine's hash function (vLLM's is seeded per process unless PYTHONHASHSEED
 * is fixed): a BlockStored event's token ids are re-hashed into our keys, and a per-engine map from
 * the engine's hash to our key resolves later BlockRemoved events and parent links. Each (engine,
 * block) records the tiers holding it (GPU, CPU offload, other), so a block moved to CPU is still
 * known.
 *
 * <p>Thread-safety: all methods are synchronized; updates come from one subscriber thread per
 * engine, lookups from routing. Primitive-keyed maps keep it allocation-free per lookup except for
 * the result array.
 */
public final class KvBlockIndex {

  /** Tier bits of a block on an engine. */
  public static final byte GPU = 1;

  public static final byte CPU = 2;
  public static final byte OTHER = 4;

  private final BlockHasher hasher;
  private final Object2IntOpenHashMap<String> slotOf = new Object2IntOpenHashMap<>();
  private final List<String> engineOf = new ArrayList<>();
  private final List<EngineBlocks> blocksOf = new ArrayList<>();

  private static final int NO_HOLDER = -1;
  private static final int SHARED = -2;

  /**
   * Block key -> the slot of the one engine holding it, or {@link #SHARED} when several do. Most
   * blocks live on one engine, and a lookup, the hot path, then costs one probe of two flat arrays
   * (keys, values) instead of also following a pointer to a holder array: a block check is a cache
   * miss or two in a table of millions.
   */
  private final it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap holder =
      new it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap();

  {
    holder.defaultReturnValue(NO_HOLDER);
  }

  /**
   * For shared blocks: the slots of the engines holding them, a small int[] in insertion order
   * replaced on change (lookups walk a plain array; updates pay a tiny copy).
   */
  private final Long2ObjectOpenHashMap<int[]> sharedHolders = new Long2ObjectOpenHashMap<>();

  private long unknownParents;

  /** One engine's blocks: our key -> tier bits, and the engine's hash -> our key. */
  private static final class EngineBlocks {
    final Long2IntOpenHashMap tiers = new Long2IntOpenHashMap();
    final Long2LongOpenHashMap keyOfHash = new Long2LongOpenHashMap();

    /**
     * Blocks held only outside GPU memory (CPU offload): none means no tier discount to look up.
     */
    int offGpu;

    EngineBlocks() {
      keyOfHash.defaultReturnValue(0);
    }
  }

  public KvBlockIndex(int blockSize) {
    this.hasher = new BlockHasher(blockSize);
    slotOf.defaultReturnValue(-1);
  }

  public BlockHasher hasher() {
    return hasher;
  }

  /** Applies one batch of an engine's events, in order. */
  public synchronized void apply(String engine, KvEvent.Batch batch) {
    int slot = slot(engine);
    for (KvEvent e : batch.events()) {
      switch (e) {
        case KvEvent.BlockStored s -> stored(slot, s);
        case KvEvent.BlockRemoved r -> removed(slot, r);
        case KvEvent.AllBlocksCleared c -> clear(slot);
      }
    }
  }

  private void stored(int slot, KvEvent.BlockStored s) {
    EngineBlocks eb = blocksOf.get(slot);
    long parent = BlockHasher.ROOT;
    if (s.parentBlockHash() != null) {
      parent = eb.keyOfHash.get((long) s.parentBlockHash());
      if (parent == 0) {
        unknownParents++; // we missed the parent's event: this chain cannot be placed
        return;
      }
    }
    if (s.blockSize() != hasher.blockSize()
        || s.tokenIds().length < (long) s.blockHashes().length * s.blockSize()) {
      return; // not a chain we can re-hash
    }
    byte tier = tier(s.medium());
    // Our keys carry the same extra keys as the engine's hashes (LoRA on every block, the cache
    // salt on a request's first block), so salted or adapter prompts match only their own kind.
    long lora = BlockHasher.stringKey(ExtraKeys.loraName(s));
    long salt = BlockHasher.stringKey(ExtraKeys.cacheSalt(s));
    for (int i = 0; i < s.blockHashes().length; i++) {
      long extra = parent == BlockHasher.ROOT ? BlockHasher.extraKey(lora, salt) : lora;
      long key = hasher.blockKey(parent, s.tokenIds(), i * hasher.blockSize(), extra);
      eb.keyOfHash.put(s.blockHashes()[i], key);
      int before = eb.tiers.get(key);
      eb.tiers.put(key, before | tier);
      eb.offGpu += (offGpu(before | tier) ? 1 : 0) - (offGpu(before) ? 1 : 0);
      if (before == 0) {
        addHolder(key, slot);
      }
      parent = key;
    }
  }

  private void removed(int slot, KvEvent.BlockRemoved r) {
    EngineBlocks eb = blocksOf.get(slot);
    byte tier = tier(r.medium());
    for (long hash : r.blockHashes()) {
      long key = eb.keyOfHash.get(hash);
      if (key == 0) {
        continue;
      }
      int before = eb.tiers.get(key);
      int left = before & ~tier;
      eb.offGpu += (offGpu(left) ? 1 : 0) - (offGpu(before) ? 1 : 0);
      if (left != 0) {
        eb.tiers.put(key, left);
        continue;
      }
      eb.keyOfHash.remove(hash);
      eb.tiers.remove(key);
      removeHolder(key, slot);
    }
  }

  private void addHolder(long key, int slot) {
    int v = holder.get(key);
    if (v == NO_HOLDER) {
      holder.put(key, slot);
      return;
    }
    if (v >= 0) {
      if (v != slot) {
        holder.put(key, SHARED);
        sharedHolders.put(key, new int[] {v, slot});
      }
      return;
    }
    int[] h = sharedHolders.get(key);
    for (int x : h) {
      if (x == slot) {
        return;
      }
    }
    int[] grown = java.util.Arrays.copyOf(h, h.length + 1);
    grown[h.length] = slot;
    sharedHolders.put(key, grown);
  }

  private void removeHolder(long key, int slot) {
    int v = holder.get(key);
    if (v == NO_HOLDER) {
      return;
    }
    if (v >= 0) {
      if (v == slot) {
        holder.remove(key);
      }
      return;
    }
    int[] h = sharedHolders.get(key);
    int at = -1;
    for (int i = 0; i < h.length; i++) {
      if (h[i] == slot) {
        at = i;
      }
    }
    if (at < 0) {
      return;
    }
    if (h.length == 2) {
      sharedHolders.remove(key);
      holder.put(key, h[1 - at]);
      return;
    }
    int[] shrunk = new int[h.length - 1];
    System.arraycopy(h, 0, shrunk, 0, at);
    System.arraycopy(h, at + 1, shrunk, at, h.length - at - 1);
    sharedHolders.put(key, shrunk);
  }

  private void clear(int slot) {
    EngineBlocks eb = blocksOf.get(slot);
    for (long key : eb.tiers.keySet()) {
      removeHolder(key, slot);
    }
    eb.tiers.clear();
    eb.keyOfHash.clear();
    eb.offGpu = 0;
  }

  /** Forgets everything an engine holds (restart, unrecoverable gap). */
  public synchronized void clear(String engine) {
    int slot = slotOf.getInt(engine);
    if (slot >= 0) {
      clear(slot);
    }
  }

  /**
   * Prefix depths of one request: the engines holding its first block, each with how far it
   * matches.
   */
  public final class Depths {
    private final int[] slots;
    private final int[] depths;

    private Depths(int[] slots, int[] depths) {
      this.slots = slots;
      this.depths = depths;
    }

    /**
     * Leading blocks {@code engine} holds (0 for an engine without the first block, or unknown).
     */
    public int of(String engine) {
      int slot;
      synchronized (KvBlockIndex.this) {
        slot = slotOf.getInt(engine);
      }
      for (int i = 0; i < slots.length; i++) {
        if (slots[i] == slot) {
          return depths[i];
        }
      }
      return 0;
    }
  }

  private static final int[] NONE = new int[0];

  /**
   * How many leading blocks of {@code keys} (a request's chain) each engine holds, in any tier: one
   * walk down the chain that follows only the engines holding the first block and drops each at its
   * first miss, so the cost is the matched depth times the few engines sharing a prefix, whatever
   * the fleet size.
   */
  public synchronized Depths prefixDepths(long[] keys, int count) {
    int v0 = count == 0 ? NO_HOLDER : holder.get(keys[0]);
    if (v0 == NO_HOLDER) {
      return new Depths(NONE, NONE);
    }
    int[] slots = v0 >= 0 ? new int[] {v0} : sharedHolders.get(keys[0]).clone();
    int[] depths = new int[slots.length];
    int alive = slots.length;
    java.util.Arrays.fill(depths, 1);
    for (int i = 1; i < count && alive > 0; i++) {
      int v = holder.get(keys[i]);
      if (v == NO_HOLDER) {
        break;
      }
      int[] h = v >= 0 ? null : sharedHolders.get(keys[i]);
      for (int k = 0; k < slots.length; k++) {
        if (depths[k] != i) {
          continue;
        }
        if (v >= 0 ? slots[k] == v : contains(h, slots[k])) {
          depths[k] = i + 1;
        } else {
          alive--;
        }
      }
    }
    return new Depths(slots, depths);
  }

  private static boolean contains(int[] a, int v) {
    for (int x : a) {
      if (x == v) {
        return true;
      }
    }
    return false;
  }

  /** Leading blocks of {@code keys} that {@code engine} holds. */
  public int prefixDepth(String engine, long[] keys, int count) {
    return depth(engine, keys, count, -1);
  }

  /** Leading blocks of {@code keys} that {@code engine} holds in GPU memory. */
  public int gpuPrefixDepth(String engine, long[] keys, int count) {
    return depth(engine, keys, count, GPU);
  }

  /** Leading blocks of {@code keys} held in one of the tiers of {@code tierMask}. */
  private synchronized int depth(String engine, long[] keys, int count, int tierMask) {
    int slot = slotOf.getInt(engine);
    if (slot < 0) {
      return 0;
    }
    EngineBlocks eb = blocksOf.get(slot);
    int d = 0;
    while (d < count && (eb.tiers.get(keys[d]) & tierMask) != 0) {
      d++;
    }
    return d;
  }

  private static boolean offGpu(int tiers) {
    return tiers != 0 && (tiers & GPU) == 0;
  }

  /** Whether every block {@code engine} holds is in GPU memory (none only offloaded). */
  public synchronized boolean allInGpu(String engine) {
    int slot = slotOf.getInt(engine);
    return slot < 0 || blocksOf.get(slot).offGpu == 0;
  }

  /** Tier bits of a block on an engine (0 when absent). */
  public synchronized byte tiers(String engine, long key) {
    int slot = slotOf.getInt(engine);
    return slot < 0 ? 0 : (byte) blocksOf.get(slot).tiers.get(key);
  }

  /** Engines in slot order. */
  public synchronized List<String> engines() {
    return List.copyOf(engineOf);
  }

  /** Blocks indexed for an engine. */
  public synchronized int size(String engine) {
    int slot = slotOf.getInt(engine);
    return slot < 0 ? 0 : blocksOf.get(slot).tiers.size();
  }

  /** Distinct blocks indexed over all engines. */
  public synchronized int size() {
    return holder.size();
  }

  /** BlockStored events whose parent was never seen (a gap we could not repair). */
  public synchronized long unknownParents() {
    return unknownParents;
  }

  private int slot(String engine) {
    int s = slotOf.getInt(engine);
    if (s < 0) {
      s = engineOf.size();
      slotOf.put(engine, s);
      engineOf.add(engine);
      blocksOf.add(new EngineBlocks());
    }
    return s;
  }

  private static byte tier(String medium) {
    if (medium == null || medium.equalsIgnoreCase("GPU")) {
      return GPU;
    }
    return medium.equalsIgnoreCase("CPU") ? CPU : OTHER;
  }
}
