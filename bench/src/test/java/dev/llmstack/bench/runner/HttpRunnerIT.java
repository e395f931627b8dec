package dev.llmstack.bench.runner;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmstack.bench.workload.LoraMix;
import dev.llmstack.bench.workload.SyntheticWorkload;
import dev.llmstack.bench.workload.WordVocabulary;
import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.protocol.tokenizer.ModelTokenizer;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The HTTP runner against a real simulated engine on loopback: timing, usage, adapters. */
class HttpRunnerIT {

  static final String MODEL = "meta-llama/Llama-3.1-8B-Instruct";
  static ModelTokenizer tokenizer;
  static WordVocabulary words;

  @BeforeAll
  static void load() throws Exception {
    tokenizer = ModelTokenizer.forModel(MODEL, null);
    words = WordVocabulary.of(tokenizer);
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  /** 40 short streamed requests, 20 per second, half starting with one shared 256-token prefix. */
  static SyntheticWorkload workload() {
    return new SyntheticWorkload(
        new SyntheticWorkload.Params(40, 20, 300, 0.3, 8, 0.3, 1000, 20, 0.5, 1, 256, 5));
  }

  static RunResult run(SimulatedEngine engine, String name, boolean loras) throws Exception {
    HttpRunner runner =
        new HttpRunner(
            new HttpRunner.Target(engine.baseUrl(), MODEL, Duration.ofSeconds(60), 0),
            words,
            new PrintStream(OutputStream.nullOutputStream()));
    return runner.run(name, loras ? new LoraMix(workload(), 2) : workload());
  }

  @Test
  void measuresStreamsAndReadsUsageFromTheEngine() throws Exception {
    try (SimulatedEngine engine =
        SimulatedEngine.start(EngineSettings.defaults().port(0).timeScale(5))) {
      RunResult r = run(engine, "base", false);
      assertThat(r.records()).hasSize(40).allSatisfy(rec -> assertThat(rec.ok()).isTrue());
      for (RequestRecord rec : r.records()) {
        assertThat(rec.firstTokenNanos()).isGreaterThan(rec.sentNanos());
        assertThat(rec.endNanos()).isGreaterThanOrEqualTo(rec.firstTokenNanos());
        assertThat(rec.promptTokens()).isPositive();
        assertThat(rec.outputTokens()).isPositive();
      }
      // The shared prefix is found in the engine's cache by the requests after the first.
      assertThat(r.records().stream().mapToInt(RequestRecord::cachedTokens).sum()).isPositive();
    }
  }

  @Test
  void sendsEachRequestsAdapterAsTheModel() throws Exception {
    try (SimulatedEngine withAdapters =
            SimulatedEngine.start(
                EngineSettings.defaults()
                    .port(0)
                    .timeScale(5)
                    .loraModule("lora-0", "/a/0")
                    .loraModule("lora-1", "/a/1")
                    .maxLoras(2));
        SimulatedEngine without =
            SimulatedEngine.start(EngineSettings.defaults().port(0).timeScale(5))) {
      assertThat(run(withAdapters, "loras", true).records())
          .hasSize(40)
          .allSatisfy(rec -> assertThat(rec.ok()).as(String.valueOf(rec.error())).isTrue());
      // An engine that serves no adapters refuses them: the runner really named them.
      assertThat(run(without, "refused", true).records())
          .allSatisfy(rec -> assertThat(rec.error()).contains("404"));
    }
  }
}
