package dev.llmstack.protocol.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Piece-wise chat encoding gives exactly the ids of encoding the whole rendered text. */
class SegmentedEncoderTest {

  private static final String[] BITS = {
    " the",
    " quick",
    "Brown",
    " fox",
    "!",
    "?",
    "...",
    " 42",
    "1234567",
    "\n",
    "\n\n",
    "  ",
    "\t",
    " don't",
    " l'été",
    " naïve",
    " 東京",
    " 🙂",
    "—",
    "\"quoted\"",
    " a,b;c",
    "<tag>",
    " <|eot_id|>",
    " <|im_end|>",
    "x",
    " ",
    "\r\n",
    " émigré",
    "(",
    ")",
    " C++",
    " 3.14"
  };

  private static String text(SplittableRandom r, int pieces) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < pieces; i++) {
      sb.append(BITS[r.nextInt(BITS.length)]);
    }
    return sb.toString();
  }

  @ParameterizedTest
  @ValueSource(strings = {"meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-8B"})
  void equalsWholeTextEncodingAndReusesEarlierTurns(String model) throws Exception {
    try (ModelTokenizer tok = ModelTokenizer.forModel(model, null)) {
      assertThat(tok.chatPieceHits()).as("piece-wise encoding active").isGreaterThanOrEqualTo(0);
      SplittableRandom r = new SplittableRandom(model.hashCode());
      for (int conv = 0; conv < 20; conv++) {
        List<ChatMessage> messages = new ArrayList<>();
        if (r.nextBoolean()) {
          messages.add(new ChatMessage("system", text(r, 5 + r.nextInt(200))));
        }
        for (int turn = 0; turn < 4; turn++) {
          messages.add(new ChatMessage("user", text(r, 1 + r.nextInt(300))));
          String whole = tok.renderChat(messages, true, false, Map.of());
          assertThat(tok.encodeChat(messages, true, false, Map.of()))
              .as("%s conversation %d turn %d", model, conv, turn)
              .isEqualTo(tok.encode(whole, false));
          messages.add(new ChatMessage("assistant", text(r, 1 + r.nextInt(100))));
        }
      }
      // Later turns found their earlier messages' pieces in the cache.
      assertThat(tok.chatPieceHits()).isGreaterThan(20);
    }
  }
}
