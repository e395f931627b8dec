package dev.llmstack.engine.perf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class RooflineModelTest {

  static final Profile H100_8B = Profiles.load("llama-3.1-8b@h100");
  static final Profile H100X4_70B = Profiles.load("llama-3.1-70b@4xh100");
  static final Profile A100_40GB_8B = Profiles.load("llama-3.1-8b@a100-40gb");

  static BatchShape decode(int batch, int context) {
    return new BatchShape(0, 0, batch, (long) batch * context, 0);
  }

  static BatchShape prefill(int chunk) {
    return new BatchShape(chunk, chunk * (chunk / 2.0), 0, 0, chunk);
  }

  @Test
  void kvBytesPerTokenFollowTheModelShape() {
    assertThat(H100_8B.kvBytesPerToken()).isEqualTo(131_072); // 2*32*8*128*2
    assertThat(H100X4_70B.kvBytesPerToken()).isEqualTo(327_680); // 2*80*8*128*2
    assertThat(Profiles.load("qwen3-8b@h100").kvBytesPerToken()).isEqualTo(147_456); // 36 layers
    assertThat(H100_8B.weightBytes()).isEqualTo(16.06e9);
    assertThat(H100X4_70B.weightBytesPerGpu()).isEqualTo(70.6e9 * 2 / 4);
  }

  @Test
  void kvCapacityIsWhatUtilizationLeavesAfterWeightsAndActivations() {
    // (84.99 GB * 0.9 - 16.06 GB - 4 GB) / (131072 B * 16) = 26,908 blocks, 430,528 tokens.
    long expected = (long) Math.floor((84.99e9 * 0.9 - 16.06e9 - 4e9) / (131_072.0 * 16));
    assertThat(H100_8B.numGpuBlocks()).isEqualTo(expected).isBetween(25_000, 30_000);
    assertThat((long) H100_8B.numGpuBlocks() * 16).isGreaterThan(H100_8B.model().maxModelLen());
    // 70B over 4 GPUs: 35.3 GB of weights and 80 KiB of KV per token on each GPU.
    assertThat(H100X4_70B.numGpuBlocks())
        .isEqualTo((long) Math.floor((84.99e9 * 0.9 - 35.3e9 - 5e9) / (327_680.0 / 4 * 16)))
        .isBetween(20_000, 35_000);
    // A 40 GB A100 holds a third of that.
    assertThat(A100_40GB_8B.numGpuBlocks()).isBetween(8_000, 10_000);
  }

  @Test
  void decodeAtBatchOneReadsTheWeightsOnceAndLandsInTheCalibratedBand() {
    RooflineModel m = new RooflineModel(H100_8B);
    BatchShape one = decode(1, 1024);
    assertThat(m.memorySeconds(one)).isGreaterThan(10 * m.computeSeconds(one));
    // docs/calibration.md: 6.48 ms measured (vLLM 0.21, H100); the band the docs state is 6-8 ms.
    assertThat(m.stepNanos(one) / 1e6).isBetween(6.0, 8.0);
    // Measured 13.3 ms on an A100 40GB (vLLM 0.23).
    assertThat(Calibration.decodeSeconds(A100_40GB_8B, 1, 1088) * 1e3)
        .isCloseTo(13.3, within(13.3 * 0.1));
  }

  @Test
  void aStepIsTheSlowerOfComputeAndMemoryPlusOverheadsAndNeverBeatsThePeakRoofline() {
    RooflineModel m = new RooflineModel(H100_8B);
    GpuSpec g = H100_8B.gpu();
    for (BatchShape s : new BatchShape[] {decode(128, 1024), decode(128, 4096), prefill(8192)}) {
      double step = m.stepNanos(s) / 1e9;
      double expected = Math.max(m.computeSeconds(s), m.memorySeconds(s)) + m.overheadSeconds(s);
      assertThat(step).isCloseTo(expected, within(2e-9));
      // No step is faster than the hardware at 100% of peak FLOP/s and bandwidth.
      double flops = 2 * 8.03e9 * s.totalTokens();
      double bytes = 16.06e9 + 131_072.0 * (s.decodeContextTokens() + s.prefillContextTokens());
      assertThat(step).isGreaterThan(flops / g.peakFlops()).isGreaterThan(bytes / g.hbmBandwidth());
    }
  }

  @Test
  void stepTimeGrowsWithBatchAndWithContext() {
    RooflineModel m = new RooflineModel(H100_8B);
    long previous = 0;
    for (int batch : new int[] {1, 2, 8, 32, 64, 128, 256, 512, 1024}) {
      long step = m.stepNanos(decode(batch, 1024));
      assertThat(step).as("batch %d", batch).isGreaterThan(previous);
      previous = step;
    }
    previous = 0;
    for (int context : new int[] {128, 512, 1024, 4096, 16384, 65536}) {
      long step = m.stepNanos(decode(64, context));
      assertThat(step).as("context %d", context).isGreaterThan(previous);
      previous = step;
    }
    // While memory-bound, batching is nearly free: 32 sequences cost far less than 32 steps of 1.
    assertThat(m.stepNanos(decode(32, 1024))).isLessThan(2 * m.stepNanos(decode(1, 1024)));
  }

  @Test
  void prefillOfLargeChunksIsComputeBoundAndLinearInTokens() {
    RooflineModel m = new RooflineModel(H100_8B);
    for (int chunk : new int[] {2048, 8192}) {
      BatchShape s = prefill(chunk);
      assertThat(m.computeSeconds(s)).as("chunk %d", chunk).isGreaterThan(m.memorySeconds(s));
    }
    double full = m.stepNanos(new BatchShape(8192, 8192 * 4096.0, 0, 0, 8192));
    double half = m.stepNanos(new BatchShape(4096, 4096 * 2048.0, 0, 0, 4096));
    assertThat(full / half).isBetween(1.8, 2.2);
    assertThat(4096 / Calibration.prefillSeconds(H100_8B, 4096)).isBetween(25_000.0, 40_000.0);
  }

  @Test
  void anEmptyBatchTakesNoTime() {
    assertThat(new RooflineModel(H100_8B).stepNanos(new BatchShape(0, 0, 0, 0, 0))).isZero();
    assertThat(new RooflineModel(H100X4_70B).stepNanos(new BatchShape(0, 0, 0, 0, 0))).isZero();
  }

  @Test
  void seventyBOnFourGpusIsSlowerThanEightBOnOneAndPaysForItsAllReduces() {
    RooflineModel small = new RooflineModel(H100_8B);
    RooflineModel large = new RooflineModel(H100X4_70B);
    for (BatchShape s : new BatchShape[] {decode(1, 1024), decode(128, 1024), prefill(1024)}) {
      assertThat(large.stepNanos(s)).isGreaterThan(small.stepNanos(s));
      // Two all-reduces per layer: 160 latencies at least, on top of the host overhead.
      assertThat(large.overheadSeconds(s) - small.overheadSeconds(s))
          .isGreaterThanOrEqualTo(160 * H100X4_70B.efficiency().allReduceLatencySeconds());
    }
    assertThat(Calibration.decodeSeconds(H100X4_70B, 1, 1024) * 1000).isBetween(15.0, 25.0);
  }

  @Test
  void fp8WeightsUseTheFp8TensorCoresWhereTheGpuHasThem() {
    ModelSpec bf16 = H100_8B.model();
    ModelSpec fp8 =
        new ModelSpec(
            bf16.name(),
            bf16.parameters(),
            bf16.layers(),
            bf16.hiddenSize(),
            bf16.attentionHeads(),
            bf16.kvHeads(),
            bf16.headDim(),
            bf16.vocabSize(),
            1,
            bf16.kvBytes(),
            bf16.maxModelLen());
    RooflineModel h100Fp8 = new RooflineModel(withModel(H100_8B, fp8));
    RooflineModel h100 = new RooflineModel(H100_8B);
    GpuSpec g = H100_8B.gpu();
    // The weight matrix multiplies run at the FP8 rate (2x), attention stays at the BF16 rate.
    BatchShape gemmsOnly = new BatchShape(8192, 0, 0, 0, 8192);
    assertThat(h100Fp8.computeSeconds(gemmsOnly))
        .isCloseTo(
            h100.computeSeconds(gemmsOnly) * g.peakFlops() / g.peakFp8Flops(), within(1e-12));
    BatchShape chunk = prefill(8192);
    assertThat(h100Fp8.computeSeconds(chunk) - h100Fp8.computeSeconds(gemmsOnly))
        .isCloseTo(h100.computeSeconds(chunk) - h100.computeSeconds(gemmsOnly), within(1e-12));
    // A100 has no FP8 tensor cores: FP8 weights halve the bytes read, not the FLOP time.
    Profile a100 = Profiles.load("llama-3.1-8b@a100");
    RooflineModel a100Fp8 = new RooflineModel(withModel(a100, fp8));
    assertThat(a100Fp8.computeSeconds(chunk))
        .isCloseTo(new RooflineModel(a100).computeSeconds(chunk), within(1e-9));
    assertThat(a100Fp8.memorySeconds(decode(1, 0)))
        .isLessThan(new RooflineModel(a100).memorySeconds(decode(1, 0)) * 0.51);
  }

  @Test
  void stepNanosAllocatesNothing() {
    RooflineModel m = new RooflineModel(H100X4_70B);
    BatchShape s = new BatchShape(512, 512 * 1000.0, 200, 200_000, 2000);
    long sum = 0;
    for (int i = 0; i < 200_000; i++) {
      sum += m.stepNanos(s);
    }
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long before = threads.getCurrentThreadAllocatedBytes();
    for (int i = 0; i < 1_000_000; i++) {
      sum += m.stepNanos(s);
    }
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertThat(sum).isPositive();
    assertThat(allocated).isLessThan(16 * 1024); // a million steps; a single allocation is 16+ B
  }

  @Test
  void everyMeasuredAnchorIsWithinFifteenPercent() {
    assertThat(Calibration.ANCHORS).isNotEmpty();
    for (Calibration.Anchor a : Calibration.ANCHORS) {
      assertThat(Profiles.available()).contains(a.profile());
      assertThat(a.source()).isNotBlank();
      if (a.kind() == Calibration.Kind.FITTED || a.kind() == Calibration.Kind.CHECKED) {
        assertThat(Math.abs(a.error())).as(a.profile() + ": " + a.figure()).isLessThan(0.15);
      }
    }
  }

  @Test
  void theSaturatedSteadyStateMixesPrefillIntoDecodeSteps() {
    Calibration.SteadyState sat = Calibration.steadyState(H100_8B, 256, 202, 179);
    // 256 / 179 sequences finish per step and are replaced by 202-token prompts.
    assertThat(sat.prefillTokensPerStep()).isCloseTo(256 * 202 / 179.0, within(1e-9));
    assertThat(sat.stepSeconds()).isGreaterThan(Calibration.decodeSeconds(H100_8B, 256, 292));
    assertThat(sat.outputTokensPerSecond()).isCloseTo(256 / sat.stepSeconds(), within(1e-6));
  }

  static Profile withModel(Profile p, ModelSpec m) {
    return new Profile(
        p.id(),
        p.description(),
        p.gpu(),
        m,
        p.tensorParallel(),
        p.gpuMemoryUtilization(),
        p.activationReserveBytes(),
        p.blockSize(),
        p.maxNumSeqs(),
        p.maxNumBatchedTokens(),
        p.efficiency());
  }
}
