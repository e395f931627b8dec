package dev.llmstack.bench.jmh;

import dev.llmstack.protocol.kvevents.KvEvent;
import dev.llmstack.router.kvindex.KvBlockIndex;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The precise KV index at fleet scale: 1,000 engines holding 10M blocks in all, in chains of 128
 * blocks (a 2k-token prefix each), a fifth of them shared by several engines (popular system
 * prompts). Measures routing lookups of a 128-block prompt over every engine, and event application
 * (store and remove of one block). Run with {@code java -jar app/target/llmstack.jar bench-index}
 * or JMH's own command line.
 */
@State(Scope.Benchmark)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms8g", "-Xmx8g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class KvIndexBenchmark {

  static final int CHAIN = 128;

  @Param({"1000"})
  int engines;

  @Param({"10000000"})
  int blocks;

  KvBlockIndex index;
  long[][] promptKeys;
  int[][] chainTokens;
  String[] engineIds;
  long nextHash;
  int cursor;

  @Setup
  public void build() {
    index = new KvBlockIndex(16);
    SplittableRandom r = new SplittableRandom(7);
    engineIds = new String[engines];
    for (int e = 0; e < engines; e++) {
      engineIds[e] = "http://10.0." + (e / 250) + "." + (e % 250) + ":8000";
    }
    int chains = blocks / CHAIN;
    int distinct = chains * 4 / 5;
    chainTokens = new int[Math.min(distinct, 4096)][];
    promptKeys = new long[chainTokens.length][];
    long engineHash = 1;
    for (int c = 0; c < chains; c++) {
      int which =
          c < distinct ? c : r.nextInt(Math.max(1, distinct / 100)); // popular prefixes repeat
      int[] tokens = new int[CHAIN * 16];
      SplittableRandom tr = new SplittableRandom(which);
      for (int i = 0; i < tokens.length; i++) {
        tokens[i] = tr.nextInt(128_000);
      }
      long[] hashes = new long[CHAIN];
      for (int i = 0; i < CHAIN; i++) {
        hashes[i] = engineHash++;
      }
      String engine = engineIds[c % engines];
      index.apply(
          engine,
          new KvEvent.Batch(
              0,
              List.of(new KvEvent.BlockStored(hashes, null, tokens, 16, null, "GPU", null)),
              null));
      if (which < chainTokens.length && chainTokens[which] == null) {
        chainTokens[which] = tokens;
        promptKeys[which] = index.hasher().chain(tokens, tokens.length, 0, 0);
      }
    }
    nextHash = engineHash;
    Runtime rt = Runtime.getRuntime();
    System.gc();
    long used = rt.totalMemory() - rt.freeMemory();
    System.out.printf(
        "%nindex: %d engines, %d blocks indexed (%d distinct keys), heap %.0f MiB, %.1f MiB per million blocks%n",
        engines, blocks, index.size(), used / 1048576.0, used / 1048576.0 / (blocks / 1e6));
  }

  /** One routing lookup: a 128-block prompt's depth on every engine. Ops = blocks checked. */
  @Benchmark
  @OperationsPerInvocation(CHAIN)
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public KvBlockIndex.Depths lookupBlocks() {
    long[] keys = promptKeys[(cursor++ & 0x7fffffff) % promptKeys.length];
    return index.prefixDepths(keys, keys.length);
  }

  /** The same lookup as a routing decision's latency distribution. */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public KvBlockIndex.Depths routingLookupLatency() {
    long[] keys = promptKeys[(cursor++ & 0x7fffffff) % promptKeys.length];
    return index.prefixDepths(keys, keys.length);
  }

  /** Event application: one block stored then removed on an engine. Ops = events applied. */
  @Benchmark
  @OperationsPerInvocation(2)
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public void storeAndRemove() {
    int c = (cursor++ & 0x7fffffff) % chainTokens.length;
    String engine = engineIds[c % engines];
    long h = nextHash++;
    index.apply(
        engine,
        new KvEvent.Batch(
            0,
            List.of(
                new KvEvent.BlockStored(
                    new long[] {h}, null, chainTokens[c], 16, null, "GPU", null),
                new KvEvent.BlockRemoved(new long[] {h}, "GPU")),
            null));
  }
}
