package dev.llmstack.engine.perf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProfilesTest {

  @TempDir Path dir;

  static String shipped(String id) throws IOException {
    try (InputStream in = ProfilesTest.class.getResourceAsStream("/profiles/" + id + ".json")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  Path write(String name, String json) throws IOException {
    Path p = dir.resolve(name);
    Files.writeString(p, json);
    return p;
  }

  @Test
  void everyShippedProfileLoadsAndSizesAKvPool() {
    assertThat(Profiles.available())
        .startsWith("llama-3.1-8b@h100")
        .contains("llama-3.1-70b@4xh100", "llama-3.1-8b@a100", "qwen3-8b@h100");
    for (String id : Profiles.available()) {
      Profile p = Profiles.load(id);
      assertThat(p.id()).isEqualTo(id);
      assertThat(p.model().name()).contains("/");
      assertThat(p.blockSize()).isEqualTo(16);
      assertThat(p.gpuMemoryUtilization()).isEqualTo(0.9);
      assertThat((long) p.numGpuBlocks() * p.blockSize())
          .isGreaterThanOrEqualTo(p.model().maxModelLen());
      assertThat(Calibration.figures(p)).containsKeys("ttft_ms_prompt_1024", "num_gpu_blocks");
    }
  }

  @Test
  void everyProfileFileInTheSourcesIsListed() throws IOException {
    // Surefire runs in the module directory.
    try (Stream<Path> files = Files.list(Path.of("src/main/resources/profiles"))) {
      assertThat(files.map(f -> f.getFileName().toString().replace(".json", "")))
          .containsExactlyInAnyOrderElementsOf(Profiles.available());
    }
  }

  @Test
  void vllmServingDefaultsDependOnTheGpu() {
    // vLLM's EngineArgs.get_batch_defaults for the OpenAI server: GPUs of 70 GiB or more that are
    // not A100s get 8192 batched tokens and 1024 sequences; the others 2048 and 256.
    assertThat(Profiles.load("llama-3.1-8b@h100").maxNumBatchedTokens()).isEqualTo(8192);
    assertThat(Profiles.load("llama-3.1-8b@h100").maxNumSeqs()).isEqualTo(1024);
    assertThat(Profiles.load("llama-3.1-8b@a100").maxNumBatchedTokens()).isEqualTo(2048);
    assertThat(Profiles.load("llama-3.1-8b@a100").maxNumSeqs()).isEqualTo(256);
  }

  @Test
  void aUsersProfileFileLoadsByPath() throws IOException {
    Path mine =
        write(
            "mine.json",
            shipped("llama-3.1-8b@h100")
                .replace("\"llama-3.1-8b@h100\"", "\"my-8b\"")
                .replace("\"gpu_memory_utilization\": 0.9", "\"gpu_memory_utilization\": 0.5"));
    Profile p = Profiles.load(mine.toString());
    assertThat(p.id()).isEqualTo("my-8b");
    assertThat(p.numGpuBlocks()).isLessThan(Profiles.load("llama-3.1-8b@h100").numGpuBlocks());
  }

  @Test
  void anUnknownIdSaysWhatIsShipped() {
    assertThatThrownBy(() -> Profiles.load("llama-9b@tpu"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown profile 'llama-9b@tpu'")
        .hasMessageContaining("llama-3.1-8b@h100");
    assertThatThrownBy(() -> Profiles.load(" ")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aWronglyTypedValueIsReportedWithItsPosition() throws IOException {
    Path bad =
        write(
            "typed.json",
            shipped("llama-3.1-8b@h100")
                .replace("\"tensor_parallel\": 1", "\"tensor_parallel\": \"x\""));
    assertThatThrownBy(() -> Profiles.load(bad.toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("bad profile file " + bad)
        .hasMessageContaining("line ");
  }

  @Test
  void malformedJsonIsReportedWithItsPosition() throws IOException {
    Path bad = write("broken.json", "{\"id\": \"x\",\n \"gpu\": {");
    assertThatThrownBy(() -> Profiles.load(bad.toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("bad profile file " + bad)
        .hasMessageContaining("line 2");
  }

  @Test
  void aMissingOrNullPartIsNamed() throws IOException {
    Path missing =
        write(
            "missing.json",
            shipped("llama-3.1-8b@h100").replace("\"hbm_bandwidth\": 3.35e12,", ""));
    assertThatThrownBy(() -> Profiles.load(missing.toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("missing field 'gpu.hbm_bandwidth' (line ");
    Path nulled =
        write(
            "nulled.json",
            shipped("llama-3.1-8b@h100")
                .replace("\"id\": \"llama-3.1-8b@h100\"", "\"id\": \"half\"")
                .replaceFirst("\"gpu\": \\{[^}]*\\}", "\"gpu\": null"));
    assertThatThrownBy(() -> Profiles.load(nulled.toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("profile 'half': gpu is missing");
  }

  @Test
  void anOutOfRangeValueIsNamed() throws IOException {
    Path bad =
        write("mfu.json", shipped("llama-3.1-8b@h100").replace("\"mfu\": 0.5", "\"mfu\": 1.5"));
    assertThatThrownBy(() -> Profiles.load(bad.toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("efficiency.mfu must be in (0, 1], got 1.5");
    Path zero =
        write(
            "zero.json",
            shipped("llama-3.1-8b@h100")
                .replace("\"hbm_bandwidth\": 3.35e12", "\"hbm_bandwidth\": 0"));
    assertThatThrownBy(() -> Profiles.load(zero.toString()))
        .hasMessageContaining("gpu.hbm_bandwidth must be a positive number");
  }

  @Test
  void aMisspelledFieldIsNamed() throws IOException {
    Path bad =
        write(
            "typo.json",
            shipped("llama-3.1-8b@h100").replace("\"max_num_seqs\"", "\"max_num_seq\""));
    assertThatThrownBy(() -> Profiles.load(bad.toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("max_num_seq");
    Path extra =
        write(
            "extra.json",
            shipped("llama-3.1-8b@h100")
                .replace("\"block_size\"", "\"colour\": 1, \"block_size\""));
    assertThatThrownBy(() -> Profiles.load(extra.toString()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("\"colour\"");
  }

  @Test
  void weightsThatDoNotFitLeaveNoKvCacheAndSaySo() throws IOException {
    Path one =
        write(
            "70b-on-one.json",
            shipped("llama-3.1-70b@4xh100")
                .replace("\"tensor_parallel\": 4", "\"tensor_parallel\": 1"));
    Profile p = Profiles.load(one.toString());
    assertThatThrownBy(p::numGpuBlocks)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("141.2 GB of weights per GPU")
        .hasMessageContaining("leave no KV cache memory");
  }
}
