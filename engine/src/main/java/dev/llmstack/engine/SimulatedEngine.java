package dev.llmstack.engine;

import dev.llmstack.engine.core.EngineConfig;
import dev.llmstack.engine.core.EngineCore;
import dev.llmstack.engine.core.EngineObserver;
import dev.llmstack.engine.core.FinishReason;
import dev.llmstack.engine.core.Sequence;
import dev.llmstack.engine.driver.RealTimeDriver;
import dev.llmstack.engine.kvevents.KvEventPublisher;
import dev.llmstack.engine.metrics.EngineMetrics;
import dev.llmstack.engine.perf.Profile;
import dev.llmstack.engine.perf.Profiles;
import dev.llmstack.engine.perf.RooflineModel;
import dev.llmstack.engine.server.EngineServer;
import dev.llmstack.engine.server.MetricsWriter;
import dev.llmstack.engine.server.ModelPromptTokenizer;
import dev.llmstack.engine.server.ServedModel;
import dev.llmstack.protocol.kvevents.KvEvent;
import dev.llmstack.protocol.kvevents.KvEventCodec;
import dev.llmstack.protocol.tokenizer.ModelTokenizer;
import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One simulated vLLM engine, assembled: profile -> performance model and KV sizing, the real
 * tokenizer, the discrete-event core on a real-time driver, vLLM's metrics, KV events over ZMQ, and
 * the HTTP front.
 */
public final class SimulatedEngine implements AutoCloseable {

  private final EngineSettings settings;
  private final Profile profile;
  private final EngineConfig config;
  private final ModelTokenizer tokenizer;
  private final EngineMetrics metrics;
  private final KvEventPublisher kvEvents;
  private final EngineCore core;
  private final RealTimeDriver driver;
  private final EngineServer server;

  private SimulatedEngine(EngineSettings s) throws IOException, InterruptedException {
    this.settings = s;
    this.profile = Profiles.load(s.profile);
    int blocks = s.numGpuBlocksOverride != null ? s.numGpuBlocksOverride : profile.numGpuBlocks();
    int maxModelLen = s.maxModelLen != null ? s.maxModelLen : profile.model().maxModelLen();
    this.config =
        new EngineConfig(
            blocks,
            profile.blockSize(),
            s.maxNumSeqs != null ? s.maxNumSeqs : profile.maxNumSeqs(),
            s.maxNumBatchedTokens != null ? s.maxNumBatchedTokens : profile.maxNumBatchedTokens(),
            maxModelLen,
            s.enablePrefixCaching,
            s.eosProbability,
            s.kvEventsPort != null,
            profile.offloadBlocks(s.cpuOffloadGib),
            profile.loadNanosPerToken(),
            s.enableLora ? s.maxLoras : 0);
    this.tokenizer = ModelTokenizer.forModel(s.model, s.tokenizer);
    ModelPromptTokenizer prompts = new ModelPromptTokenizer(tokenizer);
    Map<String, String> cacheConfig = new LinkedHashMap<>();
    cacheConfig.put("block_size", Integer.toString(config.blockSize()));
    cacheConfig.put("cache_dtype", "auto");
    cacheConfig.put("enable_prefix_caching", s.enablePrefixCaching ? "True" : "False");
    cacheConfig.put("gpu_memory_utilization", Double.toString(profile.gpuMemoryUtilization()));
    cacheConfig.put("num_cpu_blocks", "None");
    cacheConfig.put("num_gpu_blocks", Integer.toString(blocks));
    cacheConfig.put(
        "num_gpu_blocks_override",
        s.numGpuBlocksOverride == null ? "None" : s.numGpuBlocksOverride.toString());
    cacheConfig.put("prefix_caching_hash_algo", "llmstack-chain64");
    this.metrics = new EngineMetrics(s.model, "0", maxModelLen, cacheConfig, s.legacyMetricNames);
    this.kvEvents =
        s.kvEventsPort == null
            ? null
            : new KvEventPublisher(
                s.host,
                s.kvEventsPort,
                s.kvReplayPort,
                s.kvEventsTopic,
                s.kvEventsMapEncoding ? KvEventCodec.Encoding.MAP : KvEventCodec.Encoding.ARRAY,
                s.kvEventsByteHashes ? KvEventCodec.HashForm.BYTES : KvEventCodec.HashForm.INT64,
                10_000);
    if (s.enableLora) {
      if (s.maxLoras < 1) {
        throw new IllegalArgumentException("--max-loras must be at least 1");
      }
      metrics.enableLoraInfo(s.maxLoras);
    }
    this.core = new EngineCore(config, new RooflineModel(profile), prompts, new Observer());
    this.driver = new RealTimeDriver(core, s.timeScale, "engine-" + s.port).start();
    metrics.counterCallback(
        "llmstack:engine_steps",
        "Scheduler steps run by the simulated engine.",
        () -> driver.steps());
    metrics.counterCallback(
        "llmstack:engine_step_model_seconds",
        "Engine time the performance model asked for, summed over steps.",
        () -> driver.modelledNanos() / 1e9);
    metrics.counterCallback(
        "llmstack:engine_step_lag_seconds",
        "Engine time lost between steps to the simulator's own CPU work (0 when it keeps pace).",
        () -> driver.lagNanos() / 1e9);
    EngineServer.Options opts =
        new EngineServer.Options(
            s.host, s.port, 64 << 20, s.promptTokensDetails, s.drainSeconds, 1);
    this.server =
        new EngineServer(
            opts,
            new ServedModel(s.model, maxModelLen, prompts, s.loraModules, s.runtimeLoraUpdating),
            driver,
            new MetricsWriter() {
              @Override
              public void writeTo(OutputStream out) throws IOException {
                metrics.writeTo(out);
              }

              @Override
              public String contentType() {
                return metrics.contentType();
              }
            });
  }

  /** Starts an engine; throws with a clear message when a setting is wrong or a port is taken. */
  public static SimulatedEngine start(EngineSettings settings) throws Exception {
    SimulatedEngine e = new SimulatedEngine(settings);
    try {
      e.server.start();
      e.server.applyFaults(settings.faults);
    } catch (Exception | Error ex) {
      e.close();
      throw ex;
    }
    return e;
  }

  /** Feeds the core's events to the metrics and the KV-event publisher (scheduler thread). */
  private final class Observer implements EngineObserver {
    @Override
    public void onStep(int running, int waiting, double kvUsage, int tokensInStep) {
      metrics.setQueueState(running, waiting, kvUsage);
      metrics.iteration(tokensInStep);
    }

    @Override
    public void onQueueState(int running, int waiting, double kvUsage) {
      metrics.setQueueState(running, waiting, kvUsage);
    }

    @Override
    public void onPrefixLookup(long queryTokens, long hitTokens) {
      metrics.prefixCacheQueried(queryTokens, hitTokens);
    }

    @Override
    public void onPreemption() {
      metrics.preempted();
    }

    @Override
    public void onLoras(List<String> running, List<String> waiting) {
      metrics.loras(running, waiting);
    }

    @Override
    public boolean tracksLoras() {
      return true;
    }

    @Override
    public void onFirstToken(Sequence seq, long ttftNanos) {
      metrics.firstToken(ttftNanos / 1e9);
      metrics.promptTokens(seq.promptLength()); // counted once per request, as vLLM V1 does
    }

    @Override
    public void onInterToken(long gapNanos) {
      metrics.interToken(gapNanos / 1e9);
    }

    @Override
    public void onFinished(Sequence seq, FinishReason reason) {
      long end = seq.finishNanos();
      long scheduled = seq.firstScheduledNanos() < 0 ? end : seq.firstScheduledNanos();
      long first = seq.firstTokenNanos() < 0 ? end : seq.firstTokenNanos();
      metrics.requestFinished(
          reason.wire(),
          seq.promptLength(),
          seq.numOutputTokens(),
          seq.sampling().maxTokens(),
          (end - seq.arrivalNanos()) / 1e9,
          (scheduled - seq.arrivalNanos()) / 1e9,
          (first - scheduled) / 1e9,
          (end - first) / 1e9);
    }

    @Override
    public void onKvEvents(List<KvEvent> events, long nanos) {
      if (kvEvents != null) {
        kvEvents.publish(new KvEvent.Batch(System.currentTimeMillis() / 1000.0, events, null));
      }
    }
  }

  public String baseUrl() {
    return server.baseUrl();
  }

  public int port() {
    return server.port();
  }

  public EngineServer server() {
    return server;
  }

  public RealTimeDriver driver() {
    return driver;
  }

  public Profile profile() {
    return profile;
  }

  public EngineConfig config() {
    return config;
  }

  public boolean crashed() {
    return server.crashed();
  }

  /** {@code tcp://host:port} of the KV-event publisher, or null without KV events. */
  public String kvEventsEndpoint() {
    return kvEvents == null ? null : "tcp://" + settings.host + ":" + kvEvents.port();
  }

  /** {@code tcp://host:port} of the KV-event replay socket, or null. */
  public String kvReplayEndpoint() {
    return kvEvents == null || kvEvents.replayPort() < 0
        ? null
        : "tcp://" + settings.host + ":" + kvEvents.replayPort();
  }

  public KvEventPublisher kvEventPublisher() {
    return kvEvents;
  }

  public int totalBlocks() {
    return config.numGpuBlocks();
  }

  /** Free KV blocks now (read on the scheduler thread between steps). */
  public int freeBlocks() {
    return driver.call(c -> c.kvCache().numFreeBlocks()).join();
  }

  public int runningRequests() {
    return driver.call(EngineCore::numRunning).join();
  }

  /** One line for the start-up banner. */
  public String describe() {
    return String.format(
        Locale.ROOT,
        "serving %s at %s (profile %s, %d KV blocks of %d tokens, max_model_len %d, time scale %s%s)",
        settings.model,
        baseUrl(),
        profile.id(),
        config.numGpuBlocks(),
        config.blockSize(),
        config.maxModelLen(),
        settings.timeScale,
        kvEvents == null ? "" : ", KV events on " + kvEventsEndpoint());
  }

  @Override
  public void close() {
    if (server != null) {
      server.close();
    } else if (driver != null) {
      driver.close();
    }
    if (kvEvents != null) {
      kvEvents.close();
    }
    tokenizer.close();
  }
}
