package dev.llmstack.engine.perf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RooflineModelTest {

  static final Profile H100_8B = Profiles.load("llama-3.1-8b@h100");
  static final Profile H100X4_70B = Profiles.load("llama-3.1-70b@4xh100");

  @Test
  void kvBytesPerTokenFollowTheModelShape() {
    assertThat(H100_8B.model().kvBytesPerToken()).isEqualTo(131072); // 2*32*8*128*2
    assertThat(H100X4_70B.model().kvBytesPerToken()).isEqualTo(327680); // 2*80*8*128*2
  }

  @Test
  void kvCapacityIsWhatIsLeftAfterWeights() {
    // 80 GiB * 0.9 - 16.06 GB weights - 4 GB activations, in 2 MiB blocks (16 tokens * 128 KiB).
    assertThat(H100_8B.numGpuBlocks()).isBetween(26_000, 29_000);
    assertThat((long) H100_8B.numGpuBlocks() * 16).isGreaterThan(H100_8B.model().maxModelLen());
    assertThat(H100X4_70B.numGpuBlocks()).isBetween(20_000, 35_000);
  }

  @Test
  void decodeAtBatchOneIsBoundByReadingTheWeights() {
    double itl = Calibration.decodeSeconds(H100_8B, 1, 1024) * 1000;
    // Published and roofline anchors put 8B BF16 on one H100 at 6-8 ms per token
    // (docs/calibration.md).
    assertThat(itl).isBetween(6.0, 8.0);
    double a100 =
        Calibration.decodeSeconds(Profiles.load("llama-3.1-8b@a100-40gb"), 1, 1024) * 1000;
    // Measured: 75 tok/s at concurrency 1 on an A100 40GB (13.3 ms).
    assertThat(a100).isBetween(13.3 * 0.9, 13.3 * 1.1);
  }

  @Test
  void stepTimeGrowsWithBatchAndContext() {
    double previous = 0;
    for (int batch : new int[] {1, 8, 32, 128, 256}) {
      double s = Calibration.decodeSeconds(H100_8B, batch, 1024);
      assertThat(s).isGreaterThan(previous);
      previous = s;
    }
    assertThat(Calibration.decodeSeconds(H100_8B, 64, 8192))
        .isGreaterThan(Calibration.decodeSeconds(H100_8B, 64, 1024));
    // Batching is nearly free while memory-bound: 32 sequences cost far less than 32 single steps.
    assertThat(Calibration.decodeSeconds(H100_8B, 32, 1024))
        .isLessThan(2 * Calibration.decodeSeconds(H100_8B, 1, 1024));
  }

  @Test
  void prefillIsComputeBoundAndLinearInTokens() {
    RooflineModel m = new RooflineModel(H100_8B);
    long chunk = m.stepNanos(new BatchShape(8192, 8192 * 4096.0, 0, 0, 8192));
    long half = m.stepNanos(new BatchShape(4096, 4096 * 2048.0, 0, 0, 4096));
    assertThat((double) chunk / half).isBetween(1.8, 2.2);
    double tokensPerSecond = 4096 / Calibration.prefillSeconds(H100_8B, 4096);
    assertThat(tokensPerSecond).isBetween(25_000.0, 40_000.0);
    assertThat(m.stepNanos(new BatchShape(0, 0, 0, 0, 0))).isZero();
  }

  @Test
  void tensorParallel70bIsSlowerPerTokenThan8b() {
    assertThat(Calibration.decodeSeconds(H100X4_70B, 1, 1024))
        .isGreaterThan(Calibration.decodeSeconds(H100_8B, 1, 1024) * 1.8);
    assertThat(Calibration.decodeSeconds(H100X4_70B, 1, 1024) * 1000).isBetween(15.0, 25.0);
  }

  @Test
  void everyShippedProfileLoads() {
    for (String id : Profiles.SHIPPED) {
      Profile p = Profiles.load(id);
      assertThat(p.id()).isEqualTo(id);
      assertThat(p.numGpuBlocks()).isPositive();
      assertThat(Calibration.figures(p)).isNotEmpty();
    }
  }

  @Test
  void userProfileFilesLoadAndBadOnesSayWhy(@TempDir Path dir) throws Exception {
    Path mine = dir.resolve("mine.json");
    String json =
        new String(
                RooflineModelTest.class
                    .getResourceAsStream("/profiles/llama-3.1-8b@h100.json")
                    .readAllBytes())
            .replace("\"llama-3.1-8b@h100\"", "\"my-profile\"");
    Files.writeString(mine, json);
    assertThat(Profiles.load(mine.toString()).id()).isEqualTo("my-profile");
    Path bad = dir.resolve("bad.json");
    Files.writeString(bad, "{\"id\": \"x\", \"tensor_parallel\": \"many\"}");
    assertThatThrownBy(() -> Profiles.load(bad.toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot read profile");
    assertThatThrownBy(() -> Profiles.load("no-such-profile"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown profile");
  }
}
