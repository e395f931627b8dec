package dev.llmstack.protocol.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Chat templates render as HF transformers renders them (Python's Jinja). Expected strings were
 * produced by transformers' apply_chat_template with the same templates.
 */
class ChatTemplateTest {

  private static final Map<String, Object> TOKENS = Map.of("bos_token", "<s>", "eos_token", "</s>");

  private static String render(String template, List<ChatMessage> messages) {
    return new ChatTemplate(template, TOKENS).render(messages, false, false, Map.of());
  }

  private static String render(String template) {
    return render(template, List.of(new ChatMessage("user", "  Hello there  ")));
  }

  @Test
  void whitespaceControlAndBlockTrimmingFollowJinja() {
    // trim_blocks drops the newline after a block tag, lstrip_blocks the indent before it, and
    // "{{-" / "{%-" / "{#-" strip the whitespace before them.
    String t = "{% for m in messages %}\n    {{- m.role }}\n  {#- note #}\n{% endfor %}\n";
    assertThat(render(t)).isEqualTo("user");
    assertThat(render("  {% if true %}\n  X\n  {% endif %}\n")).isEqualTo("  X\n");
    // Jinja drops one trailing newline of the template source.
    assertThat(render("A\n")).isEqualTo("A");
  }

  @Test
  void pythonStringMethodsWork() {
    String t =
        "{% set c = messages[0].content %}"
            + "{{ c.strip() }}|{{ c.lstrip() }}|{{ c.rstrip() }}|{{ c.strip(' Hoe') }}|"
            + "{{ c.startswith('  He') }}|{{ c.endswith(('x', '  ')) }}|"
            + "{{ c.split('e')[-1] }}|{{ c.split() | length }}|{{ c.strip().upper() }}|"
            + "{{ 'a</think>b</think>c'.split('</think>')[0] }}|{{ '\\n\\nx'.lstrip('\\n') }}|"
            + "{{ c.replace('e', 'E', 1) }}|{{ c.find('there') }}|{{ '-'.join(['a', 'b']) }}";
    assertThat(render(t))
        .isEqualTo(
            "Hello there|Hello there  |  Hello there|llo ther|True|True|  |2|HELLO THERE|a|x|"
                + "  HEllo there  |8|a-b");
  }

  @Test
  void namespaceKeywordExpressionsAndReversedSlices() {
    String t =
        "{% set ns = namespace(last=messages|length - 1, seen=false) %}"
            + "{% for m in messages[::-1] %}{{ m.role }}{% set ns.seen = true %}{% endfor %}"
            + "|{{ ns.last }}|{{ ns.seen }}|{{ 'abc'[::-1] }}|{{ (messages[::-1])[0].role }}";
    List<ChatMessage> msgs =
        List.of(
            new ChatMessage("system", "s"),
            new ChatMessage("user", "u"),
            new ChatMessage("assistant", "a"));
    assertThat(render(t, msgs)).isEqualTo("assistantusersystem|2|True|cba|assistant");
  }

  @Test
  void loopControlsTestsAndPrecedence() {
    String t =
        "{% for m in messages %}{% if loop.index0 == 1 %}{% continue %}{% endif %}"
            + "{% if loop.index0 == 3 %}{% break %}{% endif %}{{ m.content }}{% endfor %}"
            + "|{{ 'x' is string }}|{{ 'x' is iterable }}|{{ none is none }}|{{ nope is defined }}"
            + "|{% if not nope is defined %}undefined{% endif %}|{{ 'ab' in 'cabd' }}";
    List<ChatMessage> msgs = new ArrayList<>();
    for (String c : List.of("a", "b", "c", "d", "e")) {
      msgs.add(new ChatMessage("user", c));
    }
    assertThat(render(t, msgs)).isEqualTo("ac|True|True|True|False|undefined|True");
  }

  @Test
  void tojsonWritesPythonJson() {
    Map<String, Object> tool = new LinkedHashMap<>();
    tool.put("name", "get_weather");
    tool.put("description", "Température \"now\"");
    tool.put("strict", true);
    tool.put("minimum", 1.5);
    tool.put("required", List.of("city", "unit"));
    tool.put("extra", Map.of());
    ChatTemplate t = new ChatTemplate("{{ tool | tojson }}\n{{ tool | tojson(indent=2) }}", TOKENS);
    String out = t.render(List.of(), false, false, Map.of("tool", tool));
    assertThat(out)
        .isEqualTo(
            "{\"name\": \"get_weather\", \"description\": \"Température \\\"now\\\"\", \"strict\":"
                + " true, \"minimum\": 1.5, \"required\": [\"city\", \"unit\"], \"extra\": {}}\n"
                + "{\n"
                + "  \"name\": \"get_weather\",\n"
                + "  \"description\": \"Température \\\"now\\\"\",\n"
                + "  \"strict\": true,\n"
                + "  \"minimum\": 1.5,\n"
                + "  \"required\": [\n"
                + "    \"city\",\n"
                + "    \"unit\"\n"
                + "  ],\n"
                + "  \"extra\": {}\n"
                + "}");
    assertThat(PythonJson.pythonFloat(1e-5)).isEqualTo("1e-05");
    assertThat(PythonJson.pythonFloat(12345678.5)).isEqualTo("12345678.5");
    assertThat(PythonJson.pythonFloat(2.0)).isEqualTo("2.0");
    assertThat(PythonJson.pythonFloat(1e16)).isEqualTo("1e+16");
  }

  @Test
  void itemsTrimAndSpecialTokens() {
    String t =
        "{{ bos_token }}{% for k, v in {'a': 1, 'b': 2} | items %}{{ k }}={{ v }};{% endfor %}"
            + "[{{ messages[0].content | trim }}]{{ eos_token }}";
    assertThat(render(t)).isEqualTo("<s>a=1;b=2;[Hello there]</s>");
  }

  @Test
  void valuesPrintAsPythonAndMessageTextIsNeverRenderedAgain() {
    assertThat(render("{{ [1, 'a'] }}{{ undefined_name }}{{ true }}")).isEqualTo("[1, 'a']True");
    assertThat(render("{{ messages[0].content }}", List.of(new ChatMessage("user", "{{ 7 * 7 }}"))))
        .isEqualTo("{{ 7 * 7 }}");
  }

  @Test
  void raiseExceptionBecomesATemplateException() {
    String t =
        "{% if messages[0].role != 'system' %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant') }}"
            + "{% endif %}ok";
    assertThatThrownBy(() -> render(t))
        .isInstanceOf(ChatTemplate.TemplateException.class)
        .hasMessage("Conversation roles must alternate user/assistant");
    assertThatThrownBy(() -> render("{{ messages[0].content.nosuchmethod() }}"))
        .isInstanceOf(ChatTemplate.TemplateException.class)
        .hasMessageContaining("nosuchmethod");
  }

  @Test
  void strftimeNowFormatsLikePython() {
    LocalDateTime t = LocalDateTime.of(2024, 7, 6, 9, 5, 3);
    assertThat(ChatTemplate.strftime(t, "%d %b %Y")).isEqualTo("06 Jul 2024");
    assertThat(ChatTemplate.strftime(t, "%-d %B %Y, %H:%M:%S %A %%"))
        .isEqualTo("6 July 2024, 09:05:03 Saturday %");
    String today = ChatTemplate.strftimeNow("%Y");
    assertThat(render("{{ strftime_now('%Y') }}")).isEqualTo(today);
  }

  @Test
  void generationPromptKwargsAndToolsDefault() {
    String t =
        "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
            + "{% if add_generation_prompt %}<assistant>{% endif %}"
            + "{% if enable_thinking is defined and enable_thinking is false %}<nothink>{% endif %}"
            + "{% if tools %}TOOLS{% endif %}{{ tools is none }}";
    ChatTemplate template = new ChatTemplate(t, TOKENS);
    List<ChatMessage> msgs = List.of(new ChatMessage("user", "Hi"));
    assertThat(template.render(msgs, true, false, null)).isEqualTo("<user>Hi<assistant>True");
    assertThat(template.render(msgs, false, false, Map.of("enable_thinking", false)))
        .isEqualTo("<user>Hi<nothink>True");
  }

  @Test
  void continueFinalMessageCutsRightAfterTheFinalContent() {
    String keeps = "{% for m in messages %}<{{ m.role }}>{{ m.content }}</s>{% endfor %}";
    String trims = "{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}</s>{% endfor %}";
    List<ChatMessage> msgs =
        List.of(new ChatMessage("user", "Count"), new ChatMessage("assistant", "One, two, "));
    ChatTemplate keeping = new ChatTemplate(keeps, TOKENS);
    ChatTemplate trimming = new ChatTemplate(trims, TOKENS);
    // A template that keeps the message's spacing keeps the trailing space; one that trims loses
    // it.
    assertThat(keeping.render(msgs, true, true, null))
        .isEqualTo("<user>Count</s><assistant>One, two, ");
    assertThat(trimming.render(msgs, true, true, null))
        .isEqualTo("<user>Count</s><assistant>One, two,");
    ChatTemplate dropping =
        new ChatTemplate("{% for m in messages %}{{ m.role }}{% endfor %}", TOKENS);
    assertThatThrownBy(() -> dropping.render(msgs, false, true, null))
        .isInstanceOf(ChatTemplate.TemplateException.class)
        .hasMessageContaining("final message does not appear");
  }

  @Test
  void contentPartsAreJoinedTextParts() throws Exception {
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    ChatMessage m =
        ChatMessage.fromJson(
            json.readTree(
                "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"first\"},"
                    + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}},"
                    + "{\"type\":\"text\",\"text\":\"second\"}]}"));
    assertThat(m).isEqualTo(new ChatMessage("user", "first\nsecond"));
    assertThat(ChatMessage.fromJson(json.readTree("{\"role\":\"assistant\",\"content\":null}")))
        .isEqualTo(new ChatMessage("assistant", ""));
    assertThat(ChatMessage.fromJson(json.readTree("{\"content\":\"x\"}"))).isNull();
  }

  @Test
  void rendersConcurrentlyFromOneParsedTemplate() throws Exception {
    ChatTemplate t =
        new ChatTemplate(
            "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
                + "{{ m.content }}{% endfor %}:{{ ns.n }}",
            TOKENS);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int task = 0; task < 8; task++) {
        int k = task;
        results.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 200; i++) {
                    List<ChatMessage> msgs = new ArrayList<>();
                    for (int j = 0; j <= (i + k) % 5; j++) {
                      msgs.add(new ChatMessage("user", Integer.toString(j)));
                    }
                    StringBuilder want = new StringBuilder();
                    msgs.forEach(m -> want.append(m.content()));
                    want.append(':').append(msgs.size());
                    if (!t.render(msgs, false, false, null).contentEquals(want)) {
                      return false;
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
}
