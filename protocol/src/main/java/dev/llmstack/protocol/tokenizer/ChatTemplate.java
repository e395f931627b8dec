package dev.llmstack.protocol.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A model's chat template (the Jinja {@code chat_template} of tokenizer_config.json) rendered with
 * jinjava the way HF transformers renders it: {@code trim_blocks} and {@code lstrip_blocks} on,
 * {@code raise_exception} and {@code strftime_now} available, {@code bos_token}/{@code eos_token}
 * from the config.
 */
public final class ChatTemplate {

  /** Thrown by the template's {@code raise_exception(message)}. */
  public static final class TemplateException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TemplateException(String message) {
      super(message);
    }
  }

  private final String template;
  private final String bosToken;
  private final String eosToken;
  private final Jinjava jinjava;

  public ChatTemplate(String template, String bosToken, String eosToken) {
    this.template =
        applyWhitespaceControl(
            parenthesizeNamespaceArguments(template).replace("[::-1]", "|reverse"));
    this.bosToken = bosToken == null ? "" : bosToken;
    this.eosToken = eosToken == null ? "" : eosToken;
    this.jinjava =
        new Jinjava(
            JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                .build());
    jinjava
        .getGlobalContext()
        .registerFunction(
            new ELFunctionDefinition(
                "", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    jinjava
        .getGlobalContext()
        .registerFunction(
            new ELFunctionDefinition(
                "", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
  }

  /**
   * Applies Jinja's whitespace control ({@code {{-}, {@code -}}}, {@code {%-}, {@code -%}}: strip
   * the template text's whitespace before or after the tag) to the template source, because jinjava
   * honours it on statement tags only partly and not on expressions; the markers are then plain
   * delimiters.
   */
  static String applyWhitespaceControl(String t) {
    return t.replaceAll("\\s*\\{\\{-", "{{")
        .replaceAll("-}}\\s*", "}}")
        .replaceAll("\\s*\\{%-", "{%")
        .replaceAll("-%}\\s*", "%}");
  }

  /*
   * Python's reversing slice "xs[::-1]" is not jinjava syntax; the constructor spells it "xs|reverse".
   */

  /**
   * jinjava binds a keyword argument to the first operand only ({@code namespace(n=xs|length - 1)}
   * becomes {@code (n=xs|length) - 1}); Python's Jinja takes the whole expression. Parenthesizing
   * each keyword argument's value of {@code namespace(...)} gives both the same meaning.
   */
  static String parenthesizeNamespaceArguments(String t) {
    StringBuilder out = new StringBuilder(t.length() + 16);
    int from = 0;
    int at;
    while ((at = t.indexOf("namespace(", from)) >= 0) {
      int open = at + "namespace(".length();
      int depth = 1;
      int i = open;
      while (i < t.length() && depth > 0) {
        char c = t.charAt(i);
        if (c == '(') {
          depth++;
        } else if (c == ')') {
          depth--;
        }
        i++;
      }
      if (depth != 0) {
        break;
      }
      out.append(t, from, open);
      List<String> args = new ArrayList<>();
      int d = 0;
      int start = open;
      for (int k = open; k < i - 1; k++) {
        char c = t.charAt(k);
        if (c == '(' || c == '[') {
          d++;
        } else if (c == ')' || c == ']') {
          d--;
        } else if (c == ',' && d == 0) {
          args.add(t.substring(start, k));
          start = k + 1;
        }
      }
      args.add(t.substring(start, i - 1));
      List<String> fixed = new ArrayList<>();
      for (String a : args) {
        int eq = a.indexOf('=');
        fixed.add(eq > 0 ? a.substring(0, eq + 1) + "(" + a.substring(eq + 1).trim() + ")" : a);
      }
      out.append(String.join(",", fixed)).append(')');
      from = i;
    }
    out.append(t, from, t.length());
    return out.toString();
  }

  /** Called by templates; named as in HF transformers. */
  public static String raiseException(String message) {
    throw new TemplateException(message);
  }

  /** Called by templates: Python strftime of the current time, for the common directives. */
  public static String strftimeNow(String format) {
    LocalDateTime now = LocalDateTime.now();
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < format.length(); i++) {
      char c = format.charAt(i);
      if (c != '%' || i + 1 == format.length()) {
        out.append(c);
        continue;
      }
      char d = format.charAt(++i);
      String pattern =
          switch (d) {
            case 'd' -> "dd";
            case 'm' -> "MM";
            case 'Y' -> "yyyy";
            case 'y' -> "yy";
            case 'b' -> "MMM";
            case 'B' -> "MMMM";
            case 'H' -> "HH";
            case 'M' -> "mm";
            case 'S' -> "ss";
            case 'A' -> "EEEE";
            case 'a' -> "EEE";
            default -> null;
          };
      if (pattern == null) {
        out.append('%').append(d);
      } else {
        out.append(now.format(DateTimeFormatter.ofPattern(pattern, Locale.ENGLISH)));
      }
    }
    return out.toString();
  }

  /**
   * Renders {@code messages}.
   *
   * @param continueFinalMessage leave the last message open (cut right after its content), as HF
   *     does
   */
  public String render(
      List<ChatMessage> messages,
      boolean addGenerationPrompt,
      boolean continueFinalMessage,
      Map<String, Object> kwargs) {
    List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
    for (ChatMessage m : messages) {
      Map<String, Object> mm = new LinkedHashMap<>();
      mm.put("role", m.role());
      mm.put("content", new PyStr(m.content()));
      msgs.add(mm);
    }
    Map<String, Object> ctx = new HashMap<>();
    if (kwargs != null) {
      ctx.putAll(kwargs);
    }
    ctx.put("messages", msgs);
    ctx.put("add_generation_prompt", addGenerationPrompt && !continueFinalMessage);
    ctx.put("bos_token", bosToken);
    ctx.put("eos_token", eosToken);
    ctx.putIfAbsent("tools", null);
    RenderResult r = jinjava.renderForResult(template, ctx);
    for (TemplateError e : r.getErrors()) {
      if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
        Throwable cause = e.getException();
        while (cause != null && !(cause instanceof TemplateException)) {
          cause = cause.getCause();
        }
        if (cause != null) {
          throw (TemplateException) cause;
        }
        throw new TemplateException("chat template error: " + e.getMessage());
      }
    }
    String out = r.getOutput();
    if (continueFinalMessage && !messages.isEmpty()) {
      String last = messages.get(messages.size() - 1).content().strip();
      int at = out.lastIndexOf(last);
      if (at >= 0 && !last.isEmpty()) {
        out = out.substring(0, at + last.length());
      }
    }
    return out;
  }
}
