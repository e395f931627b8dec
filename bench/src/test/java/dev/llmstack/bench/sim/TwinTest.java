package dev.llmstack.bench.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstack.bench.report.RunSummary;
import dev.llmstack.bench.report.Slo;
import dev.llmstack.bench.runner.RequestRecord;
import dev.llmstack.bench.runner.RunResult;
import dev.llmstack.bench.workload.LoraMix;
import dev.llmstack.bench.workload.MooncakeTrace;
import dev.llmstack.bench.workload.MultiRoundQa;
import dev.llmstack.bench.workload.Prompt;
import dev.llmstack.bench.workload.SyntheticWorkload;
import dev.llmstack.bench.workload.WordVocabulary;
import dev.llmstack.engine.perf.Profiles;
import dev.llmstack.protocol.tokenizer.ModelTokenizer;
import dev.llmstack.router.routing.CostWeights;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TwinTest {

  static ModelTokenizer tokenizer;
  static WordVocabulary words;

  @BeforeAll
  static void load() throws Exception {
    tokenizer = ModelTokenizer.forModel("meta-llama/Llama-3.1-8B-Instruct", null);
    words = WordVocabulary.of(tokenizer);
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  private static Twin twin(int engines) throws Exception {
    return twin(engines, 0);
  }

  private static Twin twin(int engines, double cpuOffloadGib) throws Exception {
    return twin(engines, cpuOffloadGib, 0, CostWeights.DEFAULT);
  }

  private static Twin twin(int engines, double cpuOffloadGib, int maxLoras, CostWeights weights)
      throws Exception {
    return new Twin(
        new Twin.Settings(
            Profiles.load("llama-3.1-8b@h100"),
            engines,
            "meta-llama/Llama-3.1-8B-Instruct",
            1.0,
            0,
            weights,
            cpuOffloadGib,
            maxLoras),
        tokenizer,
        words);
  }

  private static Twin loraTwin(int engines, int maxLoras, double loraWaitWeight) throws Exception {
    CostWeights d = CostWeights.DEFAULT;
    return twin(
        engines,
        0,
        maxLoras,
        new CostWeights(
            d.loadTokensPerRequest(),
            d.minHitRatio(),
            d.pendingPrefillWeight(),
            d.cpuHitWeight(),
            loraWaitWeight));
  }

  @Test
  void loraRequestsRunOnTheirAdapterAndTheCostModelGroupsAdaptersOnEngines() throws Exception {
    // 12 adapters, 2 per batch, on 3 engines: an engine can run only a few adapters at a time.
    SyntheticWorkload.Params p =
        new SyntheticWorkload.Params(400, 12, 600, 0.9, 100, 0.8, 4000, 400, 0, 1, 16, 7);
    RunResult aware = loraTwin(3, 2, 1.0).run("kv", new LoraMix(new SyntheticWorkload(p), 12));
    RunResult blind = loraTwin(3, 2, 0).run("kv", new LoraMix(new SyntheticWorkload(p), 12));
    Map<String, Object> a = RunSummary.of(aware, Slo.NONE);
    Map<String, Object> b = RunSummary.of(blind, Slo.NONE);
    assertThat(a.get("errors")).isEqualTo(0);
    // Knowing which adapters hold an engine's slots cuts the queueing for a free one.
    assertThat((double) a.get("ttft_p90_s")).isLessThan(0.7 * (double) b.get("ttft_p90_s"));
    assertThat((double) a.get("ttft_p50_s")).isLessThan((double) b.get("ttft_p50_s"));
  }

  private static MultiRoundQa qa() {
    // 7 users on 3 engines: round-robin does not map a user to one engine by accident.
    return new MultiRoundQa(new MultiRoundQa.Params(7, 4, 500, 3000, 20, 30, 3.0), words);
  }

  @Test
  void synthesizedTextTokenizesToTheIdsTheTwinUses() {
    Prompt.Runs p = MooncakeTrace.prompt(new MooncakeTrace.Entry(0, 1100, 1, new int[] {3, 9, 4}));
    assertThat(tokenizer.encode(words.text(p), true)).isEqualTo(words.tokenIds(p));
  }

  @Test
  void cacheAwarePoliciesHitWhereRoundRobinMisses() throws Exception {
    Twin twin = twin(3);
    Map<String, Object> rr = RunSummary.of(twin.run("round-robin", qa()), Slo.NONE);
    RunResult kvRun = twin.run("kv", qa());
    Map<String, Object> kv = RunSummary.of(kvRun, Slo.NONE);
    Map<String, Object> oracle = RunSummary.of(twin.run("oracle", qa()), Slo.NONE);
    for (Map<String, Object> m : List.of(rr, kv, oracle)) {
      assertThat(m.get("requests")).isEqualTo(28);
      assertThat(m.get("errors")).isEqualTo(0);
    }
    double rrHit = (double) rr.get("cached_token_ratio");
    double kvHit = (double) kv.get("cached_token_ratio");
    double oracleHit = (double) oracle.get("cached_token_ratio");
    // Rounds 2-4 of a conversation repeat its whole history: kv finds it, round-robin mostly not.
    assertThat(kvHit).isGreaterThan(0.6).isGreaterThan(rrHit + 0.2);
    assertThat(kvHit).isGreaterThanOrEqualTo(0.95 * oracleHit);
    // The closed loop as the router reports it: kv's predicted cached tokens match the engines'.
    assertThat((double) kv.get("cache_prediction_accuracy")).isGreaterThan(0.95);
    assertThat(rr).doesNotContainKey("cache_prediction_accuracy"); // round-robin predicts nothing
    // Every round of a user after the first lands where its history is.
    Map<String, String> engineOfUser = new java.util.HashMap<>();
    for (RequestRecord r : kvRun.records()) {
      if (!r.id().endsWith("-r0")) {
        assertThat(r.cachedTokens()).as(r.id()).isGreaterThan(3000);
      }
      engineOfUser.merge(r.user(), r.engine(), (a, b) -> a.equals(b) ? a : "moved");
    }
    assertThat(engineOfUser.values()).doesNotContain("moved");
    // ... and the users are spread, not piled on one engine.
    assertThat(new java.util.HashSet<>(engineOfUser.values())).hasSize(3);
  }

  @Test
  void aCpuOffloadTierServesWhatTheGpuCacheEvicted() throws Exception {
    // One engine whose GPU cache (27k blocks) cannot hold 12 users x 40k-token histories.
    MultiRoundQa.Params p = new MultiRoundQa.Params(12, 2, 100, 40_000, 20, 10, 2.0);
    Map<String, Object> gpuOnly =
        RunSummary.of(twin(1).run("kv", new MultiRoundQa(p, words)), Slo.NONE);
    Map<String, Object> offload =
        RunSummary.of(twin(1, 200).run("kv", new MultiRoundQa(p, words)), Slo.NONE);
    assertThat((double) offload.get("cached_token_ratio"))
        .isGreaterThan((double) gpuOnly.get("cached_token_ratio") + 0.2);
    assertThat((double) offload.get("ttft_p50_s")).isLessThan((double) gpuOnly.get("ttft_p50_s"));
  }

  @Test
  void runsAreDeterministic() throws Exception {
    Twin twin = twin(2);
    RunResult a = twin.run("kv", qa());
    RunResult b = twin.run("kv", qa());
    assertThat(a.records())
        .extracting(RequestRecord::firstTokenNanos)
        .containsExactlyInAnyOrderElementsOf(
            b.records().stream().map(RequestRecord::firstTokenNanos).toList());
    assertThat(a.durationNanos()).isEqualTo(b.durationNanos());
  }

  @Test
  void unknownPolicyIsRejected() throws Exception {
    Twin twin = twin(1);
    assertThatThrownBy(() -> twin.run("fastest", qa()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown policy fastest");
  }
}
