package dev.llmstack.bench.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmstack.bench.runner.RequestRecord;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WorkloadsTest {

  private final WordVocabulary words = TestWords.vocabulary();

  @Test
  void multiRoundQaRampsUsersAndSendsTheNextRoundAfterTheAnswer() {
    MultiRoundQa.Params p = new MultiRoundQa.Params(3, 2, 100, 200, 10, 20, 1.0);
    MultiRoundQa qa = new MultiRoundQa(p, words);
    List<BenchRequest> sent = new ArrayList<>();
    qa.start(sent::add);
    // One first round per user, a user every 1/qps seconds.
    assertThat(sent)
        .extracting(BenchRequest::sendAtNanos)
        .containsExactly(0L, 1_000_000_000L, 2_000_000_000L);
    BenchRequest first = sent.get(0);
    Prompt.Chat chat = (Prompt.Chat) first.prompt();
    assertThat(chat.messages()).extracting(m -> m.role()).containsExactly("system", "user");
    assertThat(chat.messages().get(0).content())
        .isEqualTo(((Prompt.Chat) sent.get(1).prompt()).messages().get(0).content());
    assertThat(chat.messages().get(1).content().split(" ", -1)).hasSize(211);
    // The answer comes back late (after the pacing interval of users/qps = 3 s): sent at once.
    RequestRecord done =
        new RequestRecord(
            first.id(),
            first.user(),
            "e",
            0,
            0,
            1,
            5_000_000_000L,
            300,
            20,
            0,
            null,
            " the answer");
    qa.completed(first, done, sent::add);
    BenchRequest second = sent.get(3);
    assertThat(second.user()).isEqualTo(first.user());
    assertThat(second.sendAtNanos()).isEqualTo(5_000_000_000L);
    Prompt.Chat next = (Prompt.Chat) second.prompt();
    assertThat(next.messages())
        .extracting(m -> m.role())
        .containsExactly("system", "user", "assistant", "user");
    assertThat(next.messages().get(2).content()).isEqualTo(" the answer");
    // The earlier prompt was a snapshot: it did not grow.
    assertThat(chat.messages()).hasSize(2);
    // Rounds are capped.
    qa.completed(second, done, sent::add);
    assertThat(sent).hasSize(4);
    assertThat(qa.expectedRequests()).isEqualTo(6);
  }

  @Test
  void multiRoundQaPacesFastAnswersAtUsersOverQps() {
    MultiRoundQa qa = new MultiRoundQa(new MultiRoundQa.Params(2, 3, 0, 50, 10, 5, 4.0), words);
    List<BenchRequest> sent = new ArrayList<>();
    qa.start(sent::add);
    BenchRequest first = sent.get(0);
    qa.completed(
        first,
        new RequestRecord(
            first.id(), first.user(), "e", 0, 0, 1, 100_000_000L, 50, 5, 0, null, "a"),
        sent::add);
    assertThat(sent.get(2).sendAtNanos()).isEqualTo(500_000_000L); // 2 users / 4 qps
  }

  @Test
  void syntheticHonoursRateLengthsAndPrefixRepetition() {
    SyntheticWorkload.Params p =
        new SyntheticWorkload.Params(2000, 20, 600, 0.9, 200, 0.8, 4000, 800, 0.5, 4, 256, 7);
    List<BenchRequest> sent = new ArrayList<>();
    new SyntheticWorkload(p).start(sent::add);
    assertThat(sent).hasSize(2000);
    double span = sent.get(sent.size() - 1).sendAtNanos() / 1e9;
    assertThat(2000 / span).isBetween(18.0, 22.0);
    long shared = sent.stream().filter(r -> ((Prompt.Runs) r.prompt()).seeds().length == 2).count();
    assertThat(shared / 2000.0).isBetween(0.45, 0.55);
    double[] inputs =
        sent.stream().mapToDouble(r -> ((Prompt.Runs) r.prompt()).words()).sorted().toArray();
    assertThat(inputs[1000]).isBetween(500.0, 720.0); // the median (shared prefixes add length)
    assertThat(sent).allSatisfy(r -> assertThat(r.maxTokens()).isBetween(1, 800));
    assertThatThrownBy(
            () ->
                new SyntheticWorkload.Params(10, -1, 600, 0.9, 200, 0.8, 4000, 800, 0.5, 4, 256, 7))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("qps");
  }

  @Test
  void loraMixGivesEachUserOneAdapterWithHotAndColdOnes() {
    SyntheticWorkload.Params p =
        new SyntheticWorkload.Params(2000, 100, 50, 0.5, 10, 0.5, 200, 50, 0, 1, 16, 3);
    LoraMix mix = new LoraMix(new SyntheticWorkload(p), 8);
    List<BenchRequest> sent = new ArrayList<>();
    mix.start(sent::add);
    assertThat(sent).hasSize(2000);
    java.util.Map<String, Integer> perAdapter = new java.util.TreeMap<>();
    java.util.Map<String, String> adapterOfUser = new java.util.HashMap<>();
    for (BenchRequest r : sent) {
      assertThat(r.lora()).matches("lora-[0-7]");
      perAdapter.merge(r.lora(), 1, Integer::sum);
      String key = r.user() != null ? r.user() : r.id();
      assertThat(adapterOfUser.merge(key, r.lora(), (a, b) -> a.equals(b) ? a : "two"))
          .isNotEqualTo("two");
    }
    // Every adapter is used; about 1/(k+1): lora-0 several times as popular as lora-7.
    assertThat(perAdapter).hasSize(8);
    assertThat(perAdapter.get("lora-0")).isGreaterThan(3 * perAdapter.get("lora-7"));
    assertThat(mix.name()).endsWith("+8-loras");
    assertThatThrownBy(() -> new LoraMix(new SyntheticWorkload(p), 0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
