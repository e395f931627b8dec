package dev.llmstack.engine.perf;

/**
 * Step time from a roofline over the batch: a step is bound either by compute (matrix multiplies
 * over every token plus attention over its context) or by memory traffic (all weights once, plus
 * the KV cache the batch reads and writes), whichever is slower, plus fixed CPU overheads and, with
 * tensor parallelism, two all-reduces per layer. Everything per GPU. Allocation-free: it runs once
 * per scheduler step.
 */
public final class RooflineModel implements PerformanceModel {

  private final double flopsPerToken; // 2 * params / tp
  private final double attentionFlopsPerPair; // 4 * layers * heads * head_dim / tp
  private final double computeRate; // FLOP/s achieved
  private final double weightBytes; // per GPU
  private final double kvBytesPerToken; // per GPU
  private final double memoryRate; // bytes/s achieved
  private final double stepOverhead;
  private final double perSeqOverhead;
  private final int tp;
  private final double allReduceLatency;
  private final double allReduceBytesPerToken; // hidden * 2 bytes * 2 (tp - 1) / tp
  private final double interconnect;
  private final int layers;

  public RooflineModel(Profile p) {
    ModelSpec m = p.model();
    GpuSpec g = p.gpu();
    Efficiency e = p.efficiency();
    tp = p.tensorParallel();
    flopsPerToken = 2.0 * m.parameters() / tp;
    attentionFlopsPerPair = 4.0 * m.layers() * m.attentionHeads() * m.headDim() / tp;
    computeRate = g.peakFlops() * e.mfu();
    weightBytes = m.weightBytesTotal() / tp;
    kvBytesPerToken = m.kvBytesPerToken() / tp;
    memoryRate = g.hbmBandwidth() * e.mbu();
    stepOverhead = e.stepOverheadSeconds();
    perSeqOverhead = e.perSeqOverheadSeconds();
    allReduceLatency = e.allReduceLatencySeconds();
    allReduceBytesPerToken = m.hiddenSize() * 2.0 * 2.0 * (tp - 1) / tp;
    interconnect = g.interconnectBandwidth();
    layers = m.layers();
  }

  @Override
  public long stepNanos(BatchShape s) {
    long tokens = s.totalTokens();
    if (tokens == 0) {
      return 0;
    }
    double attentionPairs = s.prefillAttention() + s.decodeContextTokens();
    double compute =
        (flopsPerToken * tokens + attentionFlopsPerPair * attentionPairs) / computeRate;
    double kvRead = (s.decodeContextTokens() + s.prefillContextTokens()) * kvBytesPerToken;
    double kvWritten = tokens * kvBytesPerToken;
    double memory = (weightBytes + kvRead + kvWritten) / memoryRate;
    double seconds = Math.max(compute, memory) + stepOverhead + perSeqOverhead * seqs(s);
    if (tp > 1) {
      seconds += 2.0 * layers * (allReduceLatency + tokens * allReduceBytesPerToken / interconnect);
    }
    return (long) (seconds * 1e9);
  }

  private static long seqs(BatchShape s) {
    // Prefill chunks are few; each counts as one sequence. Estimated from tokens when unknown.
    return s.decodeSeqs() + (s.prefillTokens() > 0 ? 1 : 0);
  }
}
