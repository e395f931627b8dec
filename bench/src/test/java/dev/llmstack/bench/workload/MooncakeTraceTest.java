package dev.llmstack.bench.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MooncakeTraceTest {

  private final WordVocabulary words = TestWords.vocabulary();

  private static int[] ids(int... v) {
    return v;
  }

  @Test
  void equalHashIdsGiveEqualTokenRunsAndDifferentIdsDifferentOnes() {
    int[] a =
        words.tokenIds(MooncakeTrace.prompt(new MooncakeTrace.Entry(0, 1500, 10, ids(0, 1, 2))));
    int[] b =
        words.tokenIds(MooncakeTrace.prompt(new MooncakeTrace.Entry(0, 1400, 10, ids(0, 1, 7))));
    int[] c = words.tokenIds(MooncakeTrace.prompt(new MooncakeTrace.Entry(0, 600, 10, ids(5, 1))));
    // BOS, then the shared blocks 0 and 1: 1 + 1024 tokens equal.
    assertThat(Arrays.copyOf(a, 1025)).isEqualTo(Arrays.copyOf(b, 1025));
    // The third block differs (ids 2 vs 7): almost every position of it.
    int same = 0;
    for (int i = 1025; i < 1400; i++) {
      same += a[i] == b[i] ? 1 : 0;
    }
    assertThat(same).isLessThan(20);
    // Block 1 after a different first block is the same run of words as block 1 anywhere.
    assertThat(Arrays.copyOfRange(c, 513, 601)).isEqualTo(Arrays.copyOfRange(a, 513, 601));
    assertThat(Arrays.copyOfRange(c, 1, 513)).isNotEqualTo(Arrays.copyOfRange(a, 1, 513));
  }

  @Test
  void promptLengthIsTheTraceInputLength() {
    for (int input : new int[] {1, 511, 512, 513, 1500, 6758}) {
      int blocks = (input + 511) / 512;
      int[] hashIds = new int[blocks];
      for (int i = 0; i < blocks; i++) {
        hashIds[i] = 100 + i;
      }
      Prompt.Runs p = MooncakeTrace.prompt(new MooncakeTrace.Entry(0, input, 5, hashIds));
      assertThat(p.words()).isEqualTo(input);
      assertThat(words.tokenIds(p)).hasSize(input + 1); // plus BOS
      assertThat(words.text(p).split(" ", -1)).hasSize(input + 1); // leading space, one per word
    }
    // A trace line whose ids cover more than its length: the extra ids are not sent.
    Prompt.Runs p = MooncakeTrace.prompt(new MooncakeTrace.Entry(0, 600, 5, ids(1, 2, 3, 4)));
    assertThat(p.seeds()).hasSize(2);
    assertThat(p.words()).isEqualTo(600);
  }

  @Test
  void sendsAtScaledTimestampsWithOutputCap(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("t.jsonl");
    Files.writeString(
        file,
        """
        {"timestamp": 1000, "input_length": 700, "output_length": 50, "hash_ids": [0, 1]}
        {"timestamp": 3000, "input_length": 100, "output_length": 500, "hash_ids": [2]}

        {"timestamp": 5000, "input_length": 300, "output_length": 5, "hash_ids": [0]}
        """);
    List<MooncakeTrace.Entry> entries = MooncakeTrace.read(file);
    assertThat(entries).hasSize(3);
    List<BenchRequest> sent = new ArrayList<>();
    new MooncakeTrace(entries, 0.5, 0, 100).start(sent::add);
    assertThat(sent)
        .extracting(BenchRequest::sendAtNanos)
        .containsExactly(0L, 1_000_000_000L, 2_000_000_000L);
    assertThat(sent).extracting(BenchRequest::maxTokens).containsExactly(50, 100, 5);
    List<BenchRequest> firstTwo = new ArrayList<>();
    new MooncakeTrace(entries, 1.0, 2, 0).start(firstTwo::add);
    assertThat(firstTwo).hasSize(2);
  }

  @Test
  void badTraceFilesAreOneLineErrors(@TempDir Path dir) throws IOException {
    assertThatThrownBy(() -> MooncakeTrace.read(dir.resolve("missing.jsonl")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("trace file not found");
    Path bad = dir.resolve("bad.jsonl");
    Files.writeString(bad, "{\"timestamp\": 1}\n");
    assertThatThrownBy(() -> MooncakeTrace.read(bad))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("line 1");
    Path notJson = dir.resolve("x.jsonl");
    Files.writeString(notJson, "hello\n");
    assertThatThrownBy(() -> MooncakeTrace.read(notJson))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not JSON lines");
    assertThatThrownBy(() -> new MooncakeTrace(List.of(), -1, 0, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void realTraceReadsEveryLine() {
    Path trace = Path.of("../../shared/traces/mooncake_conversation_trace.jsonl");
    if (!Files.isRegularFile(trace)) {
      trace = Path.of("../shared/traces/mooncake_conversation_trace.jsonl");
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(trace), "no shared trace");
    List<MooncakeTrace.Entry> entries = MooncakeTrace.read(trace);
    assertThat(entries).hasSize(12_031);
    for (MooncakeTrace.Entry e : entries.subList(0, 200)) {
      assertThat(MooncakeTrace.prompt(e).words()).isEqualTo(e.inputLength());
    }
  }
}
