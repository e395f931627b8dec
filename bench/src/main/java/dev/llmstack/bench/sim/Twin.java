package dev.llmstack.bench.sim;

import dev.llmstack.bench.runner.RecordSink;
import dev.llmstack.bench.runner.RequestRecord;
import dev.llmstack.bench.runner.RunResult;
import dev.llmstack.bench.workload.BenchRequest;
import dev.llmstack.bench.workload.Prompt;
import dev.llmstack.bench.workload.WordVocabulary;
import dev.llmstack.bench.workload.Workload;
import dev.llmstack.engine.core.EngineConfig;
import dev.llmstack.engine.core.EngineCore;
import dev.llmstack.engine.core.EngineObserver;
import dev.llmstack.engine.core.FinishReason;
import dev.llmstack.engine.core.KvCacheManager;
import dev.llmstack.engine.core.SamplingSpec;
import dev.llmstack.engine.core.Sequence;
import dev.llmstack.engine.core.SequenceListener;
import dev.llmstack.engine.driver.VirtualTimeDriver;
import dev.llmstack.engine.perf.Profile;
import dev.llmstack.engine.perf.RooflineModel;
import dev.llmstack.engine.server.ModelPromptTokenizer;
import dev.llmstack.protocol.kvevents.KvEvent;
import dev.llmstack.protocol.prefix.BlockHasher;
import dev.llmstack.protocol.tokenizer.ModelTokenizer;
import dev.llmstack.router.backend.BackendSnapshot;
import dev.llmstack.router.backend.EngineStats;
import dev.llmstack.router.backend.HealthState;
import dev.llmstack.router.kvindex.ApproximatePrefixIndex;
import dev.llmstack.router.kvindex.KvBlockIndex;
import dev.llmstack.router.routing.CacheAwarePolicy;
import dev.llmstack.router.routing.CostWeights;
import dev.llmstack.router.routing.Decision;
import dev.llmstack.router.routing.Policies;
import dev.llmstack.router.routing.RouteRequest;
import dev.llmstack.router.routing.RoutingPolicy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The capacity-planning twin: a workload against N simulated engines in virtual time, in one
 * thread, routed by the router's own policy and index code. Engines are the same {@link EngineCore}
 * the HTTP engine runs; the router's view is modelled as the real one sees it: in-flight counts
 * updated at dispatch, first token and finish, engine metrics scraped every {@code
 * scrapeIntervalSeconds}, the precise index fed by the engines' KV events, the approximate index by
 * what was routed. Besides the router's policies, {@code oracle} routes with the same cost model on
 * the engines' caches read directly.
 */
public final class Twin {

  /** What to simulate. */
  public record Settings(
      Profile profile,
      int engines,
      String model,
      double scrapeIntervalSeconds,
      double maxSeconds,
      CostWeights weights,
      double cpuOffloadGib,
      int maxLoras) {

    public Settings {
      if (engines <= 0) {
        throw new IllegalArgumentException("engines must be positive");
      }
    }
  }

  /** Policies the twin runs besides the router's own. */
  public static final String ORACLE = "oracle";

  private final Settings settings;
  private final ModelTokenizer tokenizer;
  private final ModelPromptTokenizer vocabulary;
  private final WordVocabulary words;

  /**
   * Chat prompts already tokenized, shared by the runs of one twin: a request's output depends only
   * on its id (the sampling seed), so every policy's run sends the same conversations, and
   * templating plus tokenizing a 20,000-token chat costs far more than simulating it. Bounded in
   * tokens.
   */
  private final java.util.LinkedHashMap<List<dev.llmstack.protocol.tokenizer.ChatMessage>, int[]>
      chatIds = new java.util.LinkedHashMap<>(256, 0.75f, true);

  private long chatIdsTokens;
  private static final long CHAT_CACHE_TOKENS = 100_000_000L;

  public Twin(Settings settings, ModelTokenizer tokenizer, WordVocabulary words) {
    this.settings = settings;
    this.tokenizer = tokenizer;
    this.vocabulary = new ModelPromptTokenizer(tokenizer);
    this.words = words;
  }

  /** The policy names the twin accepts: the router's, and the oracle. */
  public static List<String> policyNames() {
    List<String> names =
        new ArrayList<>(
            new Policies(
                    1.25,
                    new KvBlockIndex(16),
                    new ApproximatePrefixIndex(1, 1),
                    e -> true,
                    CostWeights.DEFAULT,
                    System::nanoTime)
                .names());
    names.add(ORACLE);
    return names;
  }

  /** Runs {@code workload} routed by {@code policy}. */
  public RunResult run(String policy, Workload workload) {
    Run run = new Run(policy, workload);
    long wall0 = System.nanoTime();
    run.execute();
    double wall = (System.nanoTime() - wall0) / 1e9;
    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put("profile", settings.profile().id());
    extra.put("engines", settings.engines());
    extra.put("cpu_offload_gib", settings.cpuOffloadGib());
    extra.put("max_loras", settings.maxLoras());
    extra.put("wall_seconds", wall);
    extra.put("virtual_seconds", run.driver.now() / 1e9);
    extra.put("steps", run.driver.steps());
    Map<String, Double> busy = new TreeMap<>();
    for (int i = 0; i < run.ids.size(); i++) {
      busy.put(
          run.ids.get(i),
          run.driver.engines().get(i).busyNanos() / (double) Math.max(1, run.driver.now()));
    }
    extra.put("engine_busy_fraction", busy);
    // The router's closed-loop figure (llmstack_router_cache_prediction_accuracy), for the policies
    // that predict: 1 - sum|predicted - actual| / sum(max(predicted, actual)) cached tokens.
    if (run.predictionDenominator > 0) {
      extra.put(
          "cache_prediction_accuracy",
          Math.max(0, 1 - run.predictionError / (double) run.predictionDenominator));
    }
    return new RunResult(policy, run.sink.records(), run.sink.itl(), run.lastEnd, extra);
  }

  private int[] chatTokens(Prompt.Chat chat) {
    int[] ids = chatIds.get(chat.messages());
    if (ids == null) {
      ids = tokenizer.encodeChat(chat.messages(), true, false, Map.of());
      chatIds.put(chat.messages(), ids);
      chatIdsTokens += ids.length;
      var it = chatIds.values().iterator();
      while (chatIdsTokens > CHAT_CACHE_TOKENS && it.hasNext()) {
        chatIdsTokens -= it.next().length;
        it.remove();
      }
    }
    return ids;
  }

  /** The state of one run. */
  private final class Run {
    final VirtualTimeDriver driver = new VirtualTimeDriver();
    final KvBlockIndex kvIndex = new KvBlockIndex(16);
    final ApproximatePrefixIndex approximate =
        new ApproximatePrefixIndex(100_000, TimeUnit.MINUTES.toNanos(10));
    final BlockHasher hasher = new BlockHasher(16);
    final List<String> ids = new ArrayList<>();
    final List<VirtualTimeDriver.Engine> engines = new ArrayList<>();
    final Map<String, KvCacheManager> caches = new LinkedHashMap<>();
    final int[] inFlight;
    final int[] awaitingFirst;
    final long[] pendingPrefill;
    // The router's view of the adapters each engine is busy with: requests in flight per adapter.
    final List<Map<String, Integer>> loraInFlight = new ArrayList<>();
    final long[] prefixQueries;
    final long[] prefixHits;
    final EngineStats[] stats;
    final RoutingPolicy policy;
    final Workload workload;
    final RecordSink sink = new RecordSink();
    final long limit;
    final int maxModelLen;
    int pendingArrivals;
    int outstanding;
    long predictionError;
    long predictionDenominator;
    long lastEnd;
    final Workload.Dispatch dispatch;

    Run(String policyName, Workload workload) {
      this.workload = workload;
      Profile profile = settings.profile();
      int n = settings.engines();
      inFlight = new int[n];
      awaitingFirst = new int[n];
      pendingPrefill = new long[n];
      for (int i = 0; i < n; i++) {
        loraInFlight.add(new java.util.HashMap<>());
      }
      prefixQueries = new long[n];
      prefixHits = new long[n];
      stats = new EngineStats[n];
      maxModelLen = profile.model().maxModelLen();
      RooflineModel perf = new RooflineModel(profile);
      for (int i = 0; i < n; i++) {
        String id = String.format("engine-%02d", i);
        int at = i;
        EngineConfig cfg =
            EngineConfig.of(profile, true, settings.cpuOffloadGib())
                .withMaxLoras(settings.maxLoras());
        EngineObserver observer =
            new EngineObserver() {
              @Override
              public void onPrefixLookup(long queryTokens, long hitTokens) {
                prefixQueries[at] += queryTokens;
                prefixHits[at] += hitTokens;
              }

              @Override
              public void onKvEvents(List<KvEvent> events, long nanos) {
                kvIndex.apply(id, new KvEvent.Batch(nanos / 1e9, events, null));
              }
            };
        EngineCore core = new EngineCore(cfg, perf, vocabulary, observer);
        ids.add(id);
        engines.add(driver.addEngine(core));
        caches.put(id, core.kvCache());
        approximate.capacity(id, profile.numGpuBlocks());
        stats[i] = EngineStats.NONE;
      }
      policy =
          policyName.equals(ORACLE)
              ? new OraclePolicy(caches, 16, settings.weights())
              : new Policies(1.25, kvIndex, approximate, e -> true, settings.weights(), driver::now)
                  .get(policyName);
      if (policy == null) {
        throw new IllegalArgumentException(
            "unknown policy " + policyName + " (known: " + String.join(", ", policyNames()) + ")");
      }
      limit = settings.maxSeconds() > 0 ? (long) (settings.maxSeconds() * 1e9) : Long.MAX_VALUE;
      dispatch =
          r -> {
            if (r.sendAtNanos() >= limit) {
              return;
            }
            pendingArrivals++;
            driver.at(r.sendAtNanos(), () -> arrive(r));
          };
    }

    void execute() {
      workload.start(dispatch);
      scrape();
      driver.run();
    }

    /** The router's periodic /metrics scrape, while there is traffic left. */
    void scrape() {
      long now = driver.now();
      for (int i = 0; i < stats.length; i++) {
        EngineCore core = engines.get(i).core();
        stats[i] =
            new EngineStats(
                core.numRunning(),
                core.numWaiting(),
                core.kvCache().usage(),
                prefixQueries[i],
                prefixHits[i],
                Math.max(1, now),
                settings.maxLoras(),
                java.util.Set.of());
      }
      if (pendingArrivals > 0 || outstanding > 0) {
        driver.at(now + (long) (settings.scrapeIntervalSeconds() * 1e9), this::scrape);
      }
    }

    void arrive(BenchRequest r) {
      pendingArrivals--;
      long now = driver.now();
      int[] tokens =
          switch (r.prompt()) {
            case Prompt.Runs runs -> words.tokenIds(runs);
            case Prompt.Chat chat -> chatTokens(chat);
          };
      if (tokens.length + r.maxTokens() > maxModelLen) {
        RequestRecord rec =
            new RequestRecord(
                r.id(),
                r.user(),
                null,
                r.sendAtNanos(),
                now,
                -1,
                now,
                tokens.length,
                0,
                -1,
                "HTTP 400: prompt of "
                    + tokens.length
                    + " tokens plus "
                    + r.maxTokens()
                    + " output tokens exceeds max_model_len "
                    + maxModelLen,
                null);
        sink.add(rec);
        workload.completed(r, rec, dispatch);
        return;
      }
      long[] keys = hasher.chain(tokens, tokens.length, BlockHasher.stringKey(r.lora()), 0);
      List<BackendSnapshot> snaps = new ArrayList<>(ids.size());
      for (int i = 0; i < ids.size(); i++) {
        snaps.add(
            new BackendSnapshot(
                ids.get(i),
                inFlight[i],
                awaitingFirst[i],
                stats[i],
                HealthState.HEALTHY,
                false,
                pendingPrefill[i],
                loraInFlight.get(i).isEmpty()
                    ? java.util.Set.of()
                    : java.util.Set.copyOf(loraInFlight.get(i).keySet())));
      }
      Decision d =
          policy.pick(
              new RouteRequest(
                  r.lora() != null ? r.lora() : settings.model(),
                  r.user(),
                  true,
                  keys,
                  tokens.length,
                  RouteRequest.KeySource.TOKENS,
                  r.lora()),
              snaps);
      String engineId = d.backend().id();
      int e = ids.indexOf(engineId);
      if (policy instanceof CacheAwarePolicy) {
        approximate.record(engineId, keys, keys.length, now);
      }
      inFlight[e]++;
      awaitingFirst[e]++;
      if (r.lora() != null) {
        loraInFlight.get(e).merge(r.lora(), 1, Integer::sum);
      }
      long prefill = Math.max(1, tokens.length - Math.max(0, d.predictedCachedTokens()));
      pendingPrefill[e] += prefill;
      outstanding++;
      StringBuilder answer = workload.needsAnswers() ? new StringBuilder() : null;
      SequenceListener listener =
          new SequenceListener() {
            long first = -1;
            long last;

            @Override
            public void onToken(Sequence seq, int tokenId, String text, long nanos) {
              if (first < 0) {
                first = nanos;
                awaitingFirst[e]--;
                pendingPrefill[e] -= prefill;
              } else {
                sink.gap(nanos - last);
              }
              last = nanos;
              if (answer != null) {
                answer.append(text);
              }
            }

            @Override
            public void onFinish(Sequence seq, FinishReason reason, long nanos) {
              if (first < 0) {
                awaitingFirst[e]--;
                pendingPrefill[e] -= prefill;
              }
              inFlight[e]--;
              int predicted = d.predictedCachedTokens();
              if (predicted >= 0 && reason != FinishReason.ABORT) {
                int actual = Math.max(0, seq.numCachedTokens());
                predictionError += Math.abs(predicted - actual);
                predictionDenominator += Math.max(predicted, actual);
              }
              if (r.lora() != null) {
                loraInFlight.get(e).computeIfPresent(r.lora(), (k, c) -> c <= 1 ? null : c - 1);
              }
              outstanding--;
              lastEnd = Math.max(lastEnd, nanos);
              RequestRecord rec =
                  new RequestRecord(
                      r.id(),
                      r.user(),
                      engineId,
                      r.sendAtNanos(),
                      seq.arrivalNanos(),
                      first,
                      nanos,
                      seq.promptLength(),
                      seq.numOutputTokens(),
                      Math.max(0, seq.numCachedTokens()),
                      reason == FinishReason.ABORT ? "aborted" : null,
                      answer == null ? null : answer.toString());
              sink.add(rec);
              workload.completed(r, rec, dispatch);
            }
          };
      Sequence seq =
          new Sequence(
              r.id(),
              tokens,
              new SamplingSpec(r.maxTokens(), 0, true, (long) r.id().hashCode(), null),
              r.lora(),
              null,
              now,
              listener);
      engines.get(e).submit(seq);
    }
  }
}
