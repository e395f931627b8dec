package dev.llmstack.engine.perf;

/**
 * Step time from a roofline over the batch. Per GPU (tensor parallelism splits weights, heads and
 * FLOPs by {@code tp}):
 *
 * <pre>
 * compute = 2 * params / tp * tokens / (peak FLOP/s for the weight dtype * MFU)
 *           + 4 * layers * heads / tp * head_dim * attention_pairs / (peak BF16 FLOP/s * MFU)
 * memory  = (weight bytes / tp + KV bytes per token / tp * (tokens read + tokens written))
 *           / (HBM bandwidth * MBU)
 * step    = max(compute, memory) + step overhead + per-seq overhead * seqs
 *           + (tp > 1 ? 2 * layers * (all-reduce latency + tokens * hidden * 2 B * 2(tp-1)/tp
 *                                      / interconnect) : 0)
 * </pre>
 *
 * {@code tokens} are the prefill-chunk tokens plus one per decoding sequence; {@code
 * attention_pairs} are the query-key pairs attention touches ({@link BatchShape#prefillAttention()}
 * plus one per context token of each decode); the KV read is the context of every decode and of
 * every prefill chunk, the KV written is one entry per token. The 4 in the attention term is QK^T
 * and PV, two FLOPs per multiply-add each. FP8 weights run the matrix multiplies on FP8 tensor
 * cores where the GPU has them; attention stays in BF16. Prefill chunks each count as one sequence.
 *
 * <p>Everything that does not depend on the batch is folded into constants in the constructor, so
 * {@link #stepNanos} is a handful of multiplications with no allocation: it runs once per scheduler
 * step, millions of times in a virtual-time run.
 */
public final class RooflineModel implements PerformanceModel {

  private final double flopsPerToken; // 2 * params / tp
  private final double attentionFlopsPerPair; // 4 * layers * heads * head_dim / tp
  private final double gemmRate; // achieved FLOP/s per GPU for the weight matrix multiplies
  private final double attentionRate; // achieved FLOP/s per GPU for attention (BF16)
  private final double weightBytes; // per GPU
  private final double kvBytesPerToken; // per GPU
  private final double memoryRate; // achieved bytes/s per GPU
  private final double stepOverhead;
  private final double perSeqOverhead;
  private final boolean tensorParallel;
  private final double allReduceFixed; // 2 * layers * latency
  private final double allReduceSecondsPerToken; // 2 * layers * bytes moved per token / bandwidth

  public RooflineModel(Profile p) {
    ModelSpec m = p.model();
    GpuSpec g = p.gpu();
    Efficiency e = p.efficiency();
    int tp = p.tensorParallel();
    flopsPerToken = 2.0 * m.parameters() / tp;
    attentionFlopsPerPair = 4.0 * m.layers() * m.attentionHeads() * m.headDim() / tp;
    gemmRate = g.peakFlopsFor(m.weightBytes()) * e.mfu();
    attentionRate = g.peakFlops() * e.mfu();
    weightBytes = m.weightBytesTotal() / tp;
    kvBytesPerToken = m.kvBytesPerToken() / tp;
    memoryRate = g.hbmBandwidth() * e.mbu();
    stepOverhead = e.stepOverheadSeconds();
    perSeqOverhead = e.perSeqOverheadSeconds();
    tensorParallel = tp > 1;
    allReduceFixed = 2.0 * m.layers() * e.allReduceLatencySeconds();
    // Ring all-reduce of a BF16 activation row: each GPU sends 2 (tp - 1) / tp of it.
    double bytesPerToken = m.hiddenSize() * 2.0 * 2.0 * (tp - 1) / tp;
    allReduceSecondsPerToken =
        tensorParallel ? 2.0 * m.layers() * bytesPerToken / g.interconnectBandwidth() : 0;
  }

  @Override
  public long stepNanos(BatchShape s) {
    if (s.totalTokens() == 0) {
      return 0;
    }
    double seconds = Math.max(computeSeconds(s), memorySeconds(s)) + overheadSeconds(s);
    return (long) (seconds * 1e9);
  }

  /** Matrix multiplies over every token plus attention over its context, at the achieved rate. */
  public double computeSeconds(BatchShape s) {
    double attentionPairs = s.prefillAttention() + s.decodeContextTokens();
    return flopsPerToken * s.totalTokens() / gemmRate
        + attentionFlopsPerPair * attentionPairs / attentionRate;
  }

  /** All weights once, plus the KV the batch reads and writes, at the achieved bandwidth. */
  public double memorySeconds(BatchShape s) {
    double kvTokens = s.decodeContextTokens() + s.prefillContextTokens() + s.totalTokens();
    return (weightBytes + kvTokens * kvBytesPerToken) / memoryRate;
  }

  /** Host overheads and, with tensor parallelism, the two all-reduces per layer. */
  public double overheadSeconds(BatchShape s) {
    long seqs = s.decodeSeqs() + (s.prefillTokens() > 0 ? 1 : 0);
    double seconds = stepOverhead + perSeqOverhead * seqs;
    if (tensorParallel) {
      seconds += allReduceFixed + s.totalTokens() * allReduceSecondsPerToken;
    }
    return seconds;
  }
}
