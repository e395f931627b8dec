package dev.llmstack.engine.core;

import dev.llmstack.protocol.prefix.BlockHasher;
import java.util.Arrays;

/**
 * One request's state inside the engine: its tokens, how many of them have KV computed, its KV
 * blocks and its timeline. Owned by the scheduler thread; other threads read only the immutable
 * fields.
 */
public final class Sequence {

  /** Where a sequence is in its life. */
  public enum Status {
    WAITING,
    RUNNING,
    FINISHED
  }

  private final String requestId;
  private final int promptLength;
  private final SamplingSpec sampling;
  private final SequenceListener listener;
  private final String loraName;
  private final String cacheSalt;
  private final long loraKey;
  private final long saltKey;
  private final long arrivalNanos;

  // Prompt followed by generated tokens.
  private int[] tokens;
  private int numTokens;
  private long[] blockKeys;
  private int numBlockKeys;

  // KV state.
  int[] blockTable = new int[8];
  int numBlocks;
  int numCachedBlocksRegistered;
  int numComputed;

  Status status = Status.WAITING;
  int numCachedTokens = -1;
  int numPreemptions;
  long rngState;
  long firstScheduledNanos = -1;
  long firstTokenNanos = -1;
  long lastTokenNanos = -1;
  StringBuilder stopWindow;
  String stopReason;
  FinishReason finishReason;
  long finishNanos = -1;

  public Sequence(
      String requestId,
      int[] promptTokens,
      SamplingSpec sampling,
      String loraName,
      String cacheSalt,
      long arrivalNanos,
      SequenceListener listener) {
    if (promptTokens.length == 0) {
      throw new IllegalArgumentException("empty prompt");
    }
    this.requestId = requestId;
    this.promptLength = promptTokens.length;
    this.sampling = sampling;
    this.listener = listener;
    this.loraName = loraName;
    this.cacheSalt = cacheSalt;
    this.loraKey = BlockHasher.stringKey(loraName);
    this.saltKey = BlockHasher.stringKey(cacheSalt);
    this.arrivalNanos = arrivalNanos;
    this.tokens =
        Arrays.copyOf(promptTokens, promptTokens.length + Math.min(sampling.maxTokens(), 4096));
    this.numTokens = promptTokens.length;
    this.blockKeys = new long[tokens.length / 16 + 1];
    long seed =
        sampling.seed() != null ? sampling.seed() : requestId.hashCode() * 0x9E3779B97F4A7C15L;
    this.rngState = seed ^ 0x5DEECE66DL;
    if (this.rngState == 0) {
      this.rngState = 1;
    }
    if (!sampling.stop().isEmpty()) {
      stopWindow = new StringBuilder();
    }
  }

  public String requestId() {
    return requestId;
  }

  public int promptLength() {
    return promptLength;
  }

  public SamplingSpec sampling() {
    return sampling;
  }

  public SequenceListener listener() {
    return listener;
  }

  public long arrivalNanos() {
    return arrivalNanos;
  }

  public Status status() {
    return status;
  }

  /**
   * Prompt tokens served from the prefix cache at first scheduling (block-aligned); -1 before that.
   */
  public int numCachedTokens() {
    return numCachedTokens;
  }

  public int numOutputTokens() {
    return numTokens - promptLength;
  }

  public int numTokens() {
    return numTokens;
  }

  public int numComputed() {
    return numComputed;
  }

  public int numPreemptions() {
    return numPreemptions;
  }

  public long firstScheduledNanos() {
    return firstScheduledNanos;
  }

  public long firstTokenNanos() {
    return firstTokenNanos;
  }

  public long finishNanos() {
    return finishNanos;
  }

  /** The stop string that ended generation, or null. */
  public String stopReason() {
    return stopReason;
  }

  public FinishReason finishReason() {
    return finishReason;
  }

  int tokenAt(int i) {
    return tokens[i];
  }

  int[] tokenArray() {
    return tokens;
  }

  /** The LoRA adapter serving this request, or null for the base model. */
  public String loraName() {
    return loraName;
  }

  String cacheSalt() {
    return cacheSalt;
  }

  void appendToken(int token) {
    if (numTokens == tokens.length) {
      tokens = Arrays.copyOf(tokens, tokens.length * 2);
    }
    tokens[numTokens++] = token;
  }

  /**
   * Block keys of the sequence's full blocks, extending the chain over tokens that completed
   * blocks.
   */
  long[] blockKeys(BlockHasher hasher) {
    int full = hasher.fullBlocks(numTokens);
    if (full > numBlockKeys) {
      if (full > blockKeys.length) {
        blockKeys = Arrays.copyOf(blockKeys, Math.max(full, blockKeys.length * 2));
      }
      hasher.chain(tokens, numBlockKeys, full, loraKey, saltKey, blockKeys);
      numBlockKeys = full;
    }
    return blockKeys;
  }

  int numBlockKeys() {
    return numBlockKeys;
  }

  void addBlock(int blockId) {
    if (numBlocks == blockTable.length) {
      blockTable = Arrays.copyOf(blockTable, blockTable.length * 2);
    }
    blockTable[numBlocks++] = blockId;
  }

  /** xorshift64*: deterministic per seed, no allocation. */
  long nextRandom() {
    long x = rngState;
    x ^= x >>> 12;
    x ^= x << 25;
    x ^= x >>> 27;
    rngState = x;
    return x * 0x2545F4914F6CDD1DL;
  }

  @Override
  public String toString() {
    return "Sequence[" + requestId + ", " + status + ", " + numComputed + "/" + numTokens + "]";
  }
}
