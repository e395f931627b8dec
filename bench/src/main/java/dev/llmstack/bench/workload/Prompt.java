package dev.llmstack.bench.workload;

import dev.llmstack.protocol.tokenizer.ChatMessage;
import java.util.List;

/** What a benchmark request asks the model: a completion prompt of word runs, or a chat. */
public sealed interface Prompt {

  /**
   * A completion prompt made of deterministic word runs: run {@code i} is {@code lengths[i]} words
   * drawn from seed {@code seeds[i]}. Equal seeds give equal runs, so two prompts sharing their
   * leading seeds share a token prefix. Rendered lazily, so a trace of long prompts costs nothing
   * until it is sent.
   */
  record Runs(long[] seeds, int[] lengths) implements Prompt {
    public Runs {
      if (seeds.length != lengths.length) {
        throw new IllegalArgumentException("one length per seed");
      }
    }

    public int words() {
      int n = 0;
      for (int l : lengths) {
        n += l;
      }
      return n;
    }
  }

  /** A chat conversation, sent to /v1/chat/completions. */
  record Chat(List<ChatMessage> messages) implements Prompt {
    public Chat {
      messages = List.copyOf(messages);
    }
  }
}
