package dev.llmstack.bench.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstack.engine.core.EngineConfig;
import dev.llmstack.engine.core.EngineCore;
import dev.llmstack.engine.core.EngineObserver;
import dev.llmstack.engine.core.SamplingSpec;
import dev.llmstack.engine.core.Sequence;
import dev.llmstack.engine.core.SequenceListener;
import dev.llmstack.engine.core.Vocabulary;
import dev.llmstack.engine.driver.VirtualTimeDriver;
import dev.llmstack.engine.perf.Profile;
import dev.llmstack.engine.perf.Profiles;
import dev.llmstack.engine.perf.RooflineModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * How fast the virtual-time twin runs: N engines of a profile under Poisson traffic with shared
 * prefixes (a chat-like workload that exercises batching, chunked prefill, prefix caching and
 * eviction), for a span of virtual time; reports scheduler steps per wall-clock second and the
 * speed-up over real time.
 */
public final class VirtualTimeStepBench {

  private final String profileId;
  private final int engines;
  private final int virtualSeconds;
  private final Path outDir;
  private final double ratePerEngine = 12.0;

  public VirtualTimeStepBench(String profileId, int engines, int virtualSeconds, Path outDir) {
    this.profileId = profileId;
    this.engines = engines;
    this.virtualSeconds = virtualSeconds;
    this.outDir = outDir;
  }

  /** Token ids only: the twin needs no text. */
  private static final Vocabulary IDS =
      new Vocabulary() {
        @Override
        public int wordCount() {
          return 10_000;
        }

        @Override
        public int wordToken(int index) {
          return 20_000 + index;
        }

        @Override
        public String text(int tokenId) {
          return "";
        }

        @Override
        public int eosTokenId() {
          return 2;
        }
      };

  public ObjectNode run() throws IOException {
    Profile profile = Profiles.load(profileId);
    RooflineModel perf = new RooflineModel(profile);
    VirtualTimeDriver driver = new VirtualTimeDriver();
    for (int i = 0; i < engines; i++) {
      EngineConfig cfg = EngineConfig.of(profile, false, 0);
      driver.addEngine(new EngineCore(cfg, perf, IDS, EngineObserver.NONE));
    }
    List<VirtualTimeDriver.Engine> all = driver.engines();
    // 12 requests/s per engine of ~1.3k prompt and ~300 output tokens keeps an 8B H100 busy
    // (batches of
    // 100+ sequences) without an unbounded queue.
    double rate = ratePerEngine * engines;
    SplittableRandom rnd = new SplittableRandom(42);
    int[][] prefixes = new int[64][];
    for (int p = 0; p < prefixes.length; p++) {
      prefixes[p] = new int[512 + rnd.nextInt(1024)];
      for (int k = 0; k < prefixes[p].length; k++) {
        prefixes[p][k] = rnd.nextInt(100_000);
      }
    }
    long end = virtualSeconds * 1_000_000_000L;
    long[] completed = {0};
    long t = 0;
    int id = 0;
    SequenceListener counter =
        new SequenceListener() {
          @Override
          public void onToken(Sequence seq, int tokenId, String text, long nanos) {}

          @Override
          public void onFinish(
              Sequence seq, dev.llmstack.engine.core.FinishReason reason, long nanos) {
            completed[0]++;
          }
        };
    while (t < end) {
      t += (long) (-Math.log(1 - rnd.nextDouble()) / rate * 1e9);
      int[] prefix = prefixes[rnd.nextInt(prefixes.length)];
      int suffix = 64 + rnd.nextInt(512);
      int[] prompt = java.util.Arrays.copyOf(prefix, prefix.length + suffix);
      for (int k = prefix.length; k < prompt.length; k++) {
        prompt[k] = rnd.nextInt(100_000);
      }
      Sequence seq =
          new Sequence(
              "r" + id,
              prompt,
              new SamplingSpec(64 + rnd.nextInt(480), 0, true, (long) id, null),
              null,
              null,
              t,
              counter);
      VirtualTimeDriver.Engine target = all.get(id % all.size());
      id++;
      driver.at(t, () -> target.submit(seq));
    }
    long wall0 = System.nanoTime();
    driver.run();
    double wall = (System.nanoTime() - wall0) / 1e9;
    double simulated = driver.now() / 1e9;
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode r = json.createObjectNode();
    r.put("benchmark", "virtual-time-steps");
    r.put("profile", profileId);
    r.put("engines", engines);
    r.put("requests", id);
    r.put("arrival_rate_per_engine", ratePerEngine);
    r.put("completed", completed[0]);
    r.put("virtual_seconds", simulated);
    r.put("wall_seconds", wall);
    r.put("steps", driver.steps());
    r.put("steps_per_second", driver.steps() / wall);
    r.put("speedup_over_real_time", simulated / wall);
    System.out.printf(
        Locale.ROOT,
        "virtual time: %d engines, %d requests, %.0f s simulated in %.2f s wall: %.0f steps/s (%.0fx real"
            + " time)%n",
        engines,
        completed[0],
        simulated,
        wall,
        driver.steps() / wall,
        simulated / wall);
    Files.createDirectories(outDir);
    json.writeValue(outDir.resolve("virtual-time-steps.json").toFile(), r);
    return r;
  }
}
