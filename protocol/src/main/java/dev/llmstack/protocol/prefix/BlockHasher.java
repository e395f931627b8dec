package dev.llmstack.protocol.prefix;

/**
 * Chained block keys over token ids, the way vLLM's automatic prefix caching keys its KV blocks: a
 * block's key depends on its parent's key, its own token ids and the request's extra keys (LoRA
 * adapter on every block, cache salt on the first block only). Only full blocks have keys.
 *
 * <p>We do not reproduce vLLM's SHA-256 over pickled tuples: the router keeps its own chain over
 * token ids (mapping engine hashes to our keys from KV events), so any well-mixed 64-bit function
 * serves, and this one is allocation-free and seeded by the parent key, which the general-purpose
 * hashing libraries are not without creating an object per block.
 */
public final class BlockHasher {

  /** The parent key of a chain's first block (vLLM's NONE_HASH). */
  public static final long ROOT = 0x6a09e667f3bcc908L;

  private static final long PRIME1 = 0x9E3779B185EBCA87L;
  private static final long PRIME2 = 0xC2B2AE3D27D4EB4FL;

  private final int blockSize;

  public BlockHasher(int blockSize) {
    if (blockSize <= 0) {
      throw new IllegalArgumentException("block size must be positive: " + blockSize);
    }
    this.blockSize = blockSize;
  }

  public int blockSize() {
    return blockSize;
  }

  /** Number of full blocks in {@code numTokens} tokens. */
  public int fullBlocks(int numTokens) {
    return numTokens / blockSize;
  }

  /**
   * Key of the block starting at {@code offset} in {@code tokens}.
   *
   * @param parent the previous block's key, or {@link #ROOT} for the first block
   * @param extraKey hash of the extra keys that apply to this block (see {@link #extraKey}), 0 for
   *     none
   */
  public long blockKey(long parent, int[] tokens, int offset, long extraKey) {
    long h = parent * PRIME1 + extraKey;
    for (int i = offset, end = offset + blockSize; i < end; i++) {
      h = Long.rotateLeft(h ^ (tokens[i] * PRIME2), 31) * PRIME1;
    }
    long k = fmix(h ^ blockSize);
    return k == 0 ? 1 : k; // 0 means "no key" to the caches
  }

  /**
   * Computes the keys of full blocks {@code fromBlock} (inclusive) to {@code toBlock} (exclusive)
   * of a token sequence into {@code out}, reading the parent key of {@code fromBlock} from {@code
   * out[fromBlock - 1]}.
   */
  public void chain(
      int[] tokens, int fromBlock, int toBlock, long loraKey, long saltKey, long[] out) {
    long parent = fromBlock == 0 ? ROOT : out[fromBlock - 1];
    for (int b = fromBlock; b < toBlock; b++) {
      long extra = b == 0 ? extraKey(loraKey, saltKey) : loraKey;
      parent = blockKey(parent, tokens, b * blockSize, extra);
      out[b] = parent;
    }
  }

  /** Keys of all full blocks of {@code tokens}. */
  public long[] chain(int[] tokens, int numTokens, long loraKey, long saltKey) {
    long[] out = new long[fullBlocks(numTokens)];
    chain(tokens, 0, out.length, loraKey, saltKey, out);
    return out;
  }

  /** The extra key of a first block: LoRA and cache salt combined; 0 when neither is set. */
  public static long extraKey(long loraKey, long saltKey) {
    if (saltKey == 0) {
      return loraKey;
    }
    return fmix(loraKey * PRIME2 + saltKey);
  }

  /** A stable 64-bit key for a string extra key (LoRA name, cache salt); 0 for null or empty. */
  public static long stringKey(String s) {
    if (s == null || s.isEmpty()) {
      return 0;
    }
    long h = PRIME2;
    for (int i = 0; i < s.length(); i++) {
      h = Long.rotateLeft(h ^ (s.charAt(i) * PRIME1), 27) * PRIME2;
    }
    long k = fmix(h ^ s.length());
    return k == 0 ? 1 : k;
  }

  /** MurmurHash3's 64-bit finaliser: full avalanche. */
  static long fmix(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }
}
