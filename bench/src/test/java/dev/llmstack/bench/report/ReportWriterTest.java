package dev.llmstack.bench.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmstack.bench.runner.RecordSink;
import dev.llmstack.bench.runner.RequestRecord;
import dev.llmstack.bench.runner.RunResult;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {

  static final String[] REQUIRED = {
    "name",
    "requests",
    "errors",
    "ttft_p50_s",
    "ttft_p90_s",
    "ttft_p99_s",
    "itl_p50_s",
    "e2e_p50_s",
    "output_tokens_per_s",
    "cached_token_ratio"
  };

  static List<RunResult> sampleRuns() {
    List<RunResult> runs = new ArrayList<>();
    for (String name : List.of("round-robin", "kv")) {
      SplittableRandom r = new SplittableRandom(name.hashCode());
      RecordSink sink = new RecordSink();
      long end = 0;
      for (int i = 0; i < 200; i++) {
        long t0 = i * 50_000_000L;
        long first = t0 + (long) (r.nextDouble() * (name.equals("kv") ? 1e8 : 1e9));
        long last = first + 50 * 8_000_000L;
        end = Math.max(end, last);
        sink.add(
            new RequestRecord(
                "r" + i,
                null,
                "engine-0" + (i % 3),
                t0,
                t0,
                first,
                last,
                2000,
                51,
                name.equals("kv") ? 1500 : 300,
                null,
                null));
        for (int k = 0; k < 50; k++) {
          sink.gap(8_000_000L + r.nextInt(1_000_000));
        }
      }
      runs.add(new RunResult(name, sink.records(), sink.itl(), end, Map.of("profile", "p")));
    }
    return runs;
  }

  static Path writeSample(Path dir) throws IOException {
    ReportWriter.write(
        dir,
        "test report",
        "llmstack simulate --test",
        Map.of("workload", "synthetic"),
        sampleRuns(),
        Slo.NONE);
    return dir;
  }

  @Test
  void writesJsonHtmlAndCharts(@TempDir Path dir) throws IOException {
    writeSample(dir);
    JsonNode root = new ObjectMapper().readTree(dir.resolve("report.json").toFile());
    assertThat(root.path("command").asText()).isEqualTo("llmstack simulate --test");
    assertThat(root.path("runs")).hasSize(2);
    for (JsonNode run : root.path("runs")) {
      for (String field : REQUIRED) {
        assertThat(run.has(field)).as(field).isTrue();
      }
    }
    assertThat(root.path("runs").get(1).path("cached_token_ratio").asDouble())
        .isCloseTo(0.75, org.assertj.core.api.Assertions.within(1e-9));
    String html = Files.readString(dir.resolve("report.html"));
    assertThat(html).contains("<table id=\"summary\">").contains(">round-robin<").contains(">kv<");
    for (String png :
        List.of(
            "ttft_cdf.png",
            "itl_cdf.png",
            "e2e_cdf.png",
            "ttft_over_time.png",
            "throughput.png",
            "engine_load.png",
            "engine_hit_rate.png")) {
      assertThat(html).contains("src=\"" + png + "\"");
      BufferedImage img = ImageIO.read(dir.resolve(png).toFile());
      assertThat(img).as(png).isNotNull();
      assertThat(img.getWidth()).isEqualTo(Charts.WIDTH);
    }
  }

  /**
   * The HTML report in a real headless Chromium: its script (which counts loaded chart images) runs
   * without errors, every chart loads, and a screenshot lands in target/.
   */
  @Test
  void rendersInHeadlessChromium(@TempDir Path dir) throws Exception {
    Path chromium = Path.of("/usr/bin/chromium");
    if (!Files.isExecutable(chromium) && System.getenv("LLMSTACK_SKIP_BROWSER_TESTS") != null) {
      org.junit.jupiter.api.Assumptions.abort(
          "chromium not installed and LLMSTACK_SKIP_BROWSER_TESTS set");
    }
    assertThat(chromium).as("Debian chromium (apt-get install chromium)").isExecutable();
    writeSample(dir);
    String url = dir.resolve("report.html").toUri().toString();
    Path profile = Files.createTempDirectory(dir, "chromium");
    Run dom =
        chromium(
            dir,
            chromium.toString(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--user-data-dir=" + profile,
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url);
    assertThat(dom.stdout()).contains("data-charts=\"7/7\"");
    assertThat(dom.stderr()).doesNotContain("Uncaught");
    Path shot = Path.of("target", "report-screenshot.png").toAbsolutePath();
    Files.createDirectories(shot.getParent());
    Files.deleteIfExists(shot);
    chromium(
        dir,
        chromium.toString(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--user-data-dir=" + profile,
        "--hide-scrollbars",
        "--window-size=1280,2000",
        "--virtual-time-budget=10000",
        "--screenshot=" + shot,
        url);
    BufferedImage img = ImageIO.read(shot.toFile());
    assertThat(img).isNotNull();
    assertThat(img.getWidth()).isEqualTo(1280);
  }

  private record Run(String stdout, String stderr) {}

  private static Run chromium(Path dir, String... cmd) throws Exception {
    Path out = dir.resolve("chromium.out");
    Path err = dir.resolve("chromium.err");
    Process p =
        new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish in 60 s");
    }
    return new Run(Files.readString(out), Files.readString(err));
  }
}
