package dev.llmstack.router.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class UsageScannerTest {

  static final String STREAM_END =
      "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\\"prompt_tokens\\\"\"}}]}\n\n"
          + "data: {\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":1234,\"total_tokens\":1290,"
          + "\"completion_tokens\": 56,\"prompt_tokens_details\":{\"cached_tokens\":1024}}}\n\n"
          + "data: [DONE]\n\n";

  static void scan(UsageScanner u, String s) {
    ByteBuf b = Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    try {
      u.scan(b);
    } finally {
      b.release();
    }
  }

  @Test
  void readsTheUsageWhereverTheNetworkSplitsIt() {
    for (int split = 1; split < STREAM_END.length(); split++) {
      UsageScanner u = new UsageScanner();
      scan(u, STREAM_END.substring(0, split));
      scan(u, STREAM_END.substring(split));
      assertThat(u.promptTokens()).as("split at %d", split).isEqualTo(1234);
      assertThat(u.completionTokens()).as("split at %d", split).isEqualTo(56);
      assertThat(u.cachedTokens()).as("split at %d", split).isEqualTo(1024);
    }
  }

  @Test
  void aResetScannerReadsTheNextResponseAsIfNew() {
    // One scanner serves a connection's responses in turn: the first stops in the middle of a
    // number and a name, and nothing of it may reach the second.
    UsageScanner u = new UsageScanner();
    scan(u, "{\"usage\":{\"prompt_tokens\":12");
    scan(u, "{\"x\":1,\"completion_tok");
    u.reset();
    assertThat(u.promptTokens()).isEqualTo(-1);
    assertThat(u.completionTokens()).isEqualTo(-1);
    scan(u, "ens\":99}");
    assertThat(u.completionTokens()).isEqualTo(-1);
    scan(u, "{\"usage\":{\"completion_tokens\":7}}");
    assertThat(u.completionTokens()).isEqualTo(7);
    assertThat(u.promptTokens()).isEqualTo(-1);
    assertThat(u.cachedTokens()).isEqualTo(-1);
  }

  @Test
  void oneByteAtATimeAndOnePieceLargerThanTheScratchArray() {
    UsageScanner bytewise = new UsageScanner();
    for (int i = 0; i < STREAM_END.length(); i++) {
      scan(bytewise, STREAM_END.substring(i, i + 1));
    }
    assertThat(bytewise.promptTokens()).isEqualTo(1234);
    assertThat(bytewise.completionTokens()).isEqualTo(56);
    assertThat(bytewise.cachedTokens()).isEqualTo(1024);
    for (int pad = 4070; pad < 4110; pad++) { // the names straddle the 4 KiB copy boundary
      UsageScanner big = new UsageScanner();
      scan(big, "x".repeat(pad) + STREAM_END);
      assertThat(big.promptTokens()).as("pad %d", pad).isEqualTo(1234);
      assertThat(big.completionTokens()).as("pad %d", pad).isEqualTo(56);
      assertThat(big.cachedTokens()).as("pad %d", pad).isEqualTo(1024);
    }
  }

  @Test
  void aResponseWithoutUsageLeavesEverythingUnknown() {
    UsageScanner u = new UsageScanner();
    scan(u, "{\"choices\":[{\"text\":\"prompt_tokens: 5\"}],\"prompt\":\"\\\"cached\"}");
    assertThat(u.promptTokens()).isEqualTo(-1);
    assertThat(u.completionTokens()).isEqualTo(-1);
    assertThat(u.cachedTokens()).isEqualTo(-1);
  }

  @Test
  void theLastOccurrenceWins() {
    UsageScanner u = new UsageScanner();
    scan(u, "{\"completion_tokens\":3}{\"completion_tokens\":\"\"completion_tokens\":17}");
    assertThat(u.completionTokens()).isEqualTo(17);
  }

  @Test
  void findsEveryColonAsAByteLoopWould() {
    // Colons at every place in and across the eight-byte words, runs of them, and bytes that
    // differ from ':' (0x3A) in one bit, which a wrong zero-byte test would take for colons.
    byte[] a =
        "::;x:8:ab\u00ba\u00bb:cdefghij:::k2z;;:0123456789:".getBytes(StandardCharsets.ISO_8859_1);
    for (int from = 0; from <= a.length; from++) {
      for (int limit = from; limit <= a.length; limit++) {
        int expected = from;
        while (expected < limit && a[expected] != ':') {
          expected++;
        }
        assertThat(UsageScanner.nextColon(a, from, limit))
            .as("[%d, %d)", from, limit)
            .isEqualTo(expected);
      }
    }
  }
}
