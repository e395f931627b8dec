package dev.llmstack.bench.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.llmstack.bench.client.SseStreamClient;
import dev.llmstack.protocol.metrics.PrometheusText;
import dev.llmstack.protocol.metrics.VllmMetricNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * How many concurrent streams one simulated engine sustains per CPU core at a GPU profile's token
 * rate.
 *
 * <p>For each concurrency level it starts a fresh {@code llmstack engine} process pinned to one
 * core (taskset, where available), opens that many streaming completions from this process (the
 * load client lives on the other core), and over a measuring window records: the engine process's
 * CPU time, the tokens the clients received, and the engine's own step accounting — modelled GPU
 * time versus the lag our CPU work added. A level is sustained when the lag stays under 5% of
 * modelled time, i.e. the streams get the token rate the performance model predicts.
 */
public final class EngineCapacityBench {

  /** Settings of a run. */
  public record Settings(
      Path jar,
      String profile,
      String model,
      List<Integer> levels,
      int windowSeconds,
      int promptWords,
      Path outDir,
      boolean pin) {}

  /** One concurrency level's figures. */
  public record Level(
      int streams,
      int activeStreams,
      double windowSeconds,
      double engineCpuCores,
      double streamsPerCore,
      double tokensPerSecond,
      double tokensPerStreamPerSecond,
      double modelledItlMs,
      double observedItlMs,
      double lagFraction,
      boolean sustained) {}

  private final Settings settings;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public EngineCapacityBench(Settings settings) {
    this.settings = settings;
  }

  public List<Level> run() throws IOException, InterruptedException {
    List<Level> levels = new ArrayList<>();
    for (int n : settings.levels()) {
      Level level = runLevel(n);
      levels.add(level);
      System.out.printf(
          Locale.ROOT,
          "streams=%d active=%d cpu=%.2f cores streams/core=%.0f tok/s=%.0f itl model=%.1fms"
              + " observed=%.1fms lag=%.1f%% %s%n",
          level.streams(),
          level.activeStreams(),
          level.engineCpuCores(),
          level.streamsPerCore(),
          level.tokensPerSecond(),
          level.modelledItlMs(),
          level.observedItlMs(),
          level.lagFraction() * 100,
          level.sustained() ? "sustained" : "NOT sustained");
    }
    write(levels);
    return levels;
  }

  private Level runLevel(int streams) throws IOException, InterruptedException {
    int port = freePort();
    Process engine = startEngine(port, streams);
    try (SseStreamClient client = new SseStreamClient("127.0.0.1", port, 1)) {
      awaitHealthy(port, engine);
      String body =
          "{\"model\":\""
              + settings.model()
              + "\",\"prompt\":\""
              + "count with me ".repeat(Math.max(1, settings.promptWords() / 3))
              + "\",\"max_tokens\":20000,\"ignore_eos\":true,\"stream\":true}";
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      List<CompletableFuture<SseStreamClient.StreamResult>> results = new ArrayList<>();
      for (int i = 0; i < streams; i++) {
        results.add(client.stream("/v1/completions", bytes));
        if (i % 200 == 199) {
          Thread.sleep(20); // spread the connection burst a little
        }
      }
      // Warm up: every stream has started and the batch is steady.
      long warmDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (metric(port, VllmMetricNames.NUM_REQUESTS_RUNNING) < streams
          && System.nanoTime() < warmDeadline) {
        Thread.sleep(200);
      }
      Thread.sleep(2000);
      int active = (int) metric(port, VllmMetricNames.NUM_REQUESTS_RUNNING);
      long cpu0 = cpuTicks(engine.pid());
      long events0 = client.totalEvents();
      double lag0 = metric(port, "llmstack:engine_step_lag_seconds_total");
      double model0 = metric(port, "llmstack:engine_step_model_seconds_total");
      double itlSum0 = metric(port, VllmMetricNames.INTER_TOKEN_LATENCY + "_sum");
      double itlCount0 = metric(port, VllmMetricNames.INTER_TOKEN_LATENCY + "_count");
      long t0 = System.nanoTime();
      Thread.sleep(TimeUnit.SECONDS.toMillis(settings.windowSeconds()));
      long t1 = System.nanoTime();
      long cpu1 = cpuTicks(engine.pid());
      long events1 = client.totalEvents();
      double lag1 = metric(port, "llmstack:engine_step_lag_seconds_total");
      double model1 = metric(port, "llmstack:engine_step_model_seconds_total");
      double itlSum1 = metric(port, VllmMetricNames.INTER_TOKEN_LATENCY + "_sum");
      double itlCount1 = metric(port, VllmMetricNames.INTER_TOKEN_LATENCY + "_count");

      double wall = (t1 - t0) / 1e9;
      double cores = (cpu1 - cpu0) / (double) CLOCK_TICKS / wall;
      double tokens = (events1 - events0) / wall;
      double perStream = tokens / Math.max(1, active);
      double modelledItl = (itlSum1 - itlSum0) / Math.max(1, itlCount1 - itlCount0);
      double lagFraction = (lag1 - lag0) / Math.max(1e-9, (model1 - model0) + (lag1 - lag0));
      boolean sustained = active == streams && lagFraction < 0.05;
      return new Level(
          streams,
          active,
          wall,
          cores,
          streams / Math.max(cores, 1e-9),
          tokens,
          perStream,
          modelledItl * 1000,
          perStream > 0 ? 1000 / perStream : Double.NaN,
          lagFraction,
          sustained);
    } finally {
      engine.destroy();
      if (!engine.waitFor(10, TimeUnit.SECONDS)) {
        engine.destroyForcibly();
      }
    }
  }

  private static final int CLOCK_TICKS = 100; // USER_HZ on Linux

  private static long cpuTicks(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // After the command name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  private Process startEngine(int port, int streams) throws IOException {
    List<String> cmd = new ArrayList<>();
    if (settings.pin() && Files.isExecutable(Path.of("/usr/bin/taskset"))) {
      cmd.addAll(List.of("/usr/bin/taskset", "-c", "1"));
    }
    String java = ProcessHandle.current().info().command().orElse("java");
    cmd.addAll(
        List.of(
            java,
            "--enable-native-access=ALL-UNNAMED",
            "-Dai.djl.offline=true",
            "-Xmx2g",
            "-jar",
            settings.jar().toString(),
            "engine",
            "--model",
            settings.model(),
            "--profile",
            settings.profile(),
            "--port",
            Integer.toString(port),
            "--max-num-seqs",
            Integer.toString(Math.max(256, streams)),
            // The bench measures our CPU cost per stream, so KV capacity must not be the limit.
            "--num-gpu-blocks-override",
            Integer.toString(Math.max(200_000, streams * 1400))));
    return new ProcessBuilder(cmd)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
  }

  private void awaitHealthy(int port, Process engine) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      if (!engine.isAlive()) {
        throw new IllegalStateException("engine exited with " + engine.exitValue());
      }
      try {
        HttpResponse<Void> r =
            http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
                HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not up yet
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("engine did not become healthy");
  }

  /** Sum of every sample of {@code name} (any labels) in the engine's /metrics. */
  private double metric(int port, String name) throws InterruptedException {
    try {
      String text =
          http.send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      return PrometheusText.sums(text, java.util.Set.of(name)).getOrDefault(name, 0.0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void write(List<Level> levels) throws IOException {
    Files.createDirectories(settings.outDir());
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    var root = json.createObjectNode();
    root.put("benchmark", "engine-capacity");
    root.put("profile", settings.profile());
    root.put("model", settings.model());
    root.put("window_seconds", settings.windowSeconds());
    root.put("cores", Runtime.getRuntime().availableProcessors());
    root.put("pinned_to_one_core", settings.pin());
    root.set("levels", json.valueToTree(levels));
    json.writeValue(settings.outDir().resolve("engine-capacity.json").toFile(), root);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
