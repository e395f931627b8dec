package dev.llmstack.protocol.tokenizer;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jinjava.javax.el.CompositeELResolver;

/**
 * A model's chat template (the Jinja {@code chat_template} of tokenizer_config.json) rendered with
 * jinjava the way HF transformers renders it for vLLM: {@code trim_blocks} and {@code
 * lstrip_blocks} on, no trailing newline kept, {@code raise_exception(msg)} and {@code
 * strftime_now(fmt)} available, the tokenizer's special tokens ({@code bos_token}, {@code
 * eos_token}, ...) and {@code tools} (none) defined, {@code date_string} left undefined so the
 * template's own default applies.
 *
 * <p>Templates are written for Python's Jinja, so the gaps of jinjava are closed here: strings have
 * Python's methods ({@link PythonStrings}), {@code tojson} writes Python's JSON ({@link
 * PythonJson}), {@code trim} strips what Python strips, strings are {@code iterable}, {@code items}
 * exists, jinjava's legacy overrides select Jinja's whitespace control and operator precedence, and
 * two syntax differences are rewritten before parsing: the reversing slice {@code xs[::-1]} and
 * keyword arguments whose value is an expression (jinjava parses {@code namespace(n=xs|length - 1)}
 * as {@code (n=xs|length) - 1}, and {@code f(b=1 + 2)} not at all), which get parentheses.
 *
 * <p>Rendering is thread-safe: each call has its own interpreter.
 */
public final class ChatTemplate {

  /**
   * A template that cannot be rendered for these messages: its {@code raise_exception}, a Jinja
   * error, or a final message that {@code continue_final_message} cannot find. vLLM answers these
   * with a 400.
   */
  public static final class TemplateException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TemplateException(String message) {
      super(message);
    }
  }

  private static final Jinjava JINJAVA = newJinjava();

  private final String source;
  private final String prepared;

  /** The parsed template; nodes hold no render state, so one tree serves every render. */
  private final Node root;

  private final Map<String, Object> specialTokens;

  /**
   * @param template the Jinja source
   * @param specialTokens the tokenizer's special tokens by template variable name ({@code
   *     bos_token}, {@code eos_token}, {@code pad_token}, {@code unk_token}, ...); null values are
   *     left out
   */
  public ChatTemplate(String template, Map<String, ?> specialTokens) {
    this.source = template;
    this.prepared = prepare(template);
    this.root = JINJAVA.newInterpreter().parse(prepared);
    Map<String, Object> tokens = new HashMap<>();
    specialTokens.forEach(
        (k, v) -> {
          if (v != null) {
            tokens.put(k, v);
          }
        });
    this.specialTokens = Collections.unmodifiableMap(tokens);
  }

  public ChatTemplate(String template, String bosToken, String eosToken) {
    this(template, tokens(bosToken, eosToken));
  }

  private static Map<String, Object> tokens(String bos, String eos) {
    Map<String, Object> m = new HashMap<>();
    m.put("bos_token", bos == null ? "" : bos);
    m.put("eos_token", eos == null ? "" : eos);
    return m;
  }

  /** The template as given. */
  public String source() {
    return source;
  }

  private static Jinjava newJinjava() {
    CompositeELResolver resolver = new CompositeELResolver();
    resolver.add(new PythonStrings());
    resolver.add(JinjavaConfig.newBuilder().build().getElResolver());
    Jinjava j =
        new Jinjava(
            JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                // Message text is data: "{{" in it must never be rendered again.
                .withNestedInterpretationEnabled(false)
                .withElResolver(resolver)
                .withLegacyOverrides(
                    LegacyOverrides.newBuilder()
                        // Jinja semantics where jinjava's defaults differ: "{{-" and "{#-" trim,
                        // Python's operator precedence, iterating a dict gives its keys, None
                        // stays in loops, {a: 1} evaluates a, lists and dicts print as Python's.
                        .withUsePyishObjectMapper(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withIterateOverMapKeys(true)
                        .withKeepNullableLoopValues(true)
                        .withEvaluateMapKeys(true)
                        .build())
                .build());
    var g = j.getGlobalContext();
    g.registerFunction(
        new ELFunctionDefinition(
            "", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    g.registerFunction(
        new ELFunctionDefinition(
            "", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
    g.registerFilter(new ToJsonFilter());
    g.registerFilter(new TrimFilter());
    g.registerFilter(new ItemsFilter());
    g.registerFilter(new ReversedFilter());
    g.registerExpTest(new IterableTest());
    return j;
  }

  // ---- source rewriting (jinjava syntax gaps) ----

  /** The name the reversing slice {@code [::-1]} is rewritten to. */
  private static final String REVERSED_FILTER = "py_reversed";

  static String prepare(String template) {
    String t = template;
    // Jinja drops one trailing newline of the template source (keep_trailing_newline=False).
    if (t.endsWith("\r\n")) {
      t = t.substring(0, t.length() - 2);
    } else if (t.endsWith("\n")) {
      t = t.substring(0, t.length() - 1);
    }
    return rewriteTags(t);
  }

  /** Applies the expression rewrites inside {@code {{ }}} and {@code {% %}} tags only. */
  static String rewriteTags(String t) {
    StringBuilder out = new StringBuilder(t.length() + 32);
    int i = 0;
    while (i < t.length()) {
      int open = nextTag(t, i);
      if (open < 0) {
        out.append(t, i, t.length());
        break;
      }
      out.append(t, i, open);
      char kind = t.charAt(open + 1);
      if (kind == '#') {
        int end = t.indexOf("#}", open + 2);
        int stop = end < 0 ? t.length() : end + 2;
        out.append(t, open, stop);
        i = stop;
        continue;
      }
      String close = kind == '{' ? "}}" : "%}";
      int end = closingDelimiter(t, open + 2, close);
      if (end < 0) {
        out.append(t, open, t.length());
        break;
      }
      String body = t.substring(open + 2, end);
      out.append(t, open, open + 2);
      out.append(isDefinition(body) ? body : rewriteExpression(body));
      out.append(close);
      i = end + 2;
    }
    return out.toString();
  }

  /** Macro and call tags declare parameters with defaults; those are left as written. */
  private static boolean isDefinition(String tagBody) {
    String b = tagBody.startsWith("-") ? tagBody.substring(1) : tagBody;
    b = b.strip();
    return b.startsWith("macro ") || b.startsWith("call ") || b.startsWith("call(");
  }

  private static int nextTag(String t, int from) {
    for (int i = from; i + 1 < t.length(); i++) {
      if (t.charAt(i) == '{') {
        char c = t.charAt(i + 1);
        if (c == '{' || c == '%' || c == '#') {
          return i;
        }
      }
    }
    return -1;
  }

  /** The index of {@code close} after {@code from}, skipping string literals. */
  private static int closingDelimiter(String t, int from, String close) {
    char quote = 0;
    for (int i = from; i < t.length(); i++) {
      char c = t.charAt(i);
      if (quote != 0) {
        if (c == '\\') {
          i++;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (t.startsWith(close, i)) {
        return i;
      }
    }
    return -1;
  }

  static String rewriteExpression(String e) {
    StringBuilder out = new StringBuilder(e.length() + 16);
    char quote = 0;
    for (int i = 0; i < e.length(); i++) {
      char c = e.charAt(i);
      if (quote != 0) {
        out.append(c);
        if (c == '\\' && i + 1 < e.length()) {
          out.append(e.charAt(++i));
        } else if (c == quote) {
          quote = 0;
        }
        continue;
      }
      if (c == '\'' || c == '"') {
        quote = c;
        out.append(c);
      } else if (e.startsWith("[::-1]", i)) {
        out.append('|').append(REVERSED_FILTER);
        i += "[::-1]".length() - 1;
      } else if (c == '(' && i > 0 && isIdentifierPart(e.charAt(i - 1))) {
        int close = matchingParen(e, i + 1);
        if (close < 0) {
          out.append(c);
          continue;
        }
        out.append('(')
            .append(parenthesizeKeywordValues(rewriteExpression(e.substring(i + 1, close))))
            .append(')');
        i = close;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static boolean isIdentifierPart(char c) {
    return Character.isLetterOrDigit(c) || c == '_';
  }

  /** The index of the ')' closing the '(' just before {@code from}, or -1. */
  private static int matchingParen(String e, int from) {
    int depth = 1;
    char quote = 0;
    for (int i = from; i < e.length(); i++) {
      char c = e.charAt(i);
      if (quote != 0) {
        if (c == '\\') {
          i++;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '(' || c == '[' || c == '{') {
        depth++;
      } else if (c == ')' || c == ']' || c == '}') {
        if (--depth == 0) {
          return i;
        }
      }
    }
    return -1;
  }

  /** {@code a=x|length - 1, b=2} becomes {@code a=(x|length - 1), b=(2)}. */
  private static String parenthesizeKeywordValues(String args) {
    List<String> parts = new ArrayList<>();
    int depth = 0;
    char quote = 0;
    int start = 0;
    for (int i = 0; i < args.length(); i++) {
      char c = args.charAt(i);
      if (quote != 0) {
        if (c == '\\') {
          i++;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '(' || c == '[' || c == '{') {
        depth++;
      } else if (c == ')' || c == ']' || c == '}') {
        depth--;
      } else if (c == ',' && depth == 0) {
        parts.add(args.substring(start, i));
        start = i + 1;
      }
    }
    parts.add(args.substring(start));
    List<String> fixed = new ArrayList<>(parts.size());
    for (String p : parts) {
      int eq = keywordEquals(p);
      fixed.add(eq < 0 ? p : p.substring(0, eq + 1) + "(" + p.substring(eq + 1).strip() + ")");
    }
    return String.join(",", fixed);
  }

  /** The '=' of {@code name=value}, or -1 when the argument is not a keyword argument. */
  private static int keywordEquals(String arg) {
    int i = 0;
    while (i < arg.length() && Character.isWhitespace(arg.charAt(i))) {
      i++;
    }
    int nameStart = i;
    while (i < arg.length() && isIdentifierPart(arg.charAt(i))) {
      i++;
    }
    if (i == nameStart) {
      return -1;
    }
    while (i < arg.length() && Character.isWhitespace(arg.charAt(i))) {
      i++;
    }
    boolean single =
        i < arg.length()
            && arg.charAt(i) == '='
            && (i + 1 == arg.length() || arg.charAt(i + 1) != '=');
    return single ? i : -1;
  }

  // ---- functions and filters ----

  /** Called by templates; named as in HF transformers. */
  public static String raiseException(String message) {
    throw new TemplateException(message);
  }

  /** Called by templates: Python's {@code datetime.now().strftime(format)}. */
  public static String strftimeNow(String format) {
    return strftime(LocalDateTime.now(), format);
  }

  static String strftime(LocalDateTime time, String format) {
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
            case 'I' -> "hh";
            case 'p' -> "a";
            case 'M' -> "mm";
            case 'S' -> "ss";
            case 'A' -> "EEEE";
            case 'a' -> "EEE";
            case 'j' -> "DDD";
            default -> null;
          };
      if (d == '%') {
        out.append('%');
      } else if (d == '-' && i + 1 < format.length()) {
        // glibc's "%-d": no zero padding
        String padded = strftime(time, "%" + format.charAt(++i));
        out.append(padded.replaceFirst("^0+(?=\\d)", ""));
      } else if (pattern == null) {
        out.append('%').append(d);
      } else {
        out.append(time.format(DateTimeFormatter.ofPattern(pattern, Locale.ENGLISH)));
      }
    }
    return out.toString();
  }

  /** HF's {@code tojson}: Python's {@code json.dumps(x, ensure_ascii=False, indent=...)}. */
  private static final class ToJsonFilter implements Filter {
    @Override
    public String getName() {
      return "tojson";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      return filter(var, interpreter, args, Map.of());
    }

    @Override
    public Object filter(
        Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
      Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : arg(args, 0);
      Object sortKeys = kwargs.get("sort_keys");
      int n = indent instanceof Number num ? num.intValue() : -1;
      return PythonJson.dumps(var, n, Boolean.TRUE.equals(sortKeys));
    }
  }

  /** Jinja's {@code trim}: Python's {@code str.strip(chars)}, not Java's {@code trim()}. */
  private static final class TrimFilter implements Filter {
    @Override
    public String getName() {
      return "trim";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      if (var == null) {
        return "";
      }
      String chars = args.length > 0 ? args[0] : null;
      return PythonStrings.strip(var.toString(), chars, true, true);
    }
  }

  /** Jinja's {@code items}: a mapping's (key, value) pairs, for {@code for k, v in m|items}. */
  private static final class ItemsFilter implements Filter {
    @Override
    public String getName() {
      return "items";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      List<Map.Entry<Object, Object>> out = new ArrayList<>();
      if (var instanceof Map<?, ?> m) {
        m.forEach((k, v) -> out.add(new AbstractMap.SimpleImmutableEntry<>(k, v)));
      }
      return out;
    }
  }

  /** Python's {@code xs[::-1]}: a reversed copy of a list or string. */
  private static final class ReversedFilter implements Filter {
    @Override
    public String getName() {
      return REVERSED_FILTER;
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      if (var instanceof CharSequence s) {
        return new StringBuilder(s).reverse().toString();
      }
      List<Object> items = new ArrayList<>();
      if (var instanceof Iterable<?> it) {
        it.forEach(items::add);
      } else if (var instanceof Object[] arr) {
        items.addAll(List.of(arr));
      }
      Collections.reverse(items);
      return items;
    }
  }

  /** Python's {@code iterable}: strings are iterable too (Llama 3.1 relies on it for tools). */
  private static final class IterableTest implements ExpTest {
    @Override
    public String getName() {
      return "iterable";
    }

    @Override
    public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
      return var instanceof CharSequence
          || var instanceof Iterable<?>
          || var instanceof Map<?, ?>
          || var instanceof Iterator<?>
          || (var != null && var.getClass().isArray());
    }
  }

  /** Prints values as Python does where jinjava differs: booleans are True and False. */
  private static final class PythonOutput extends JinjavaInterpreter {
    PythonOutput(Jinjava jinjava, Context context, JinjavaConfig config) {
      super(jinjava, context, config);
    }

    @Override
    public String getAsString(Object value) {
      if (value instanceof Boolean b) {
        return b ? "True" : "False";
      }
      return super.getAsString(value);
    }
  }

  private static Object arg(Object[] args, int i) {
    return args != null && args.length > i ? args[i] : null;
  }

  // ---- rendering ----

  /**
   * Renders {@code messages} as {@code tokenizer.apply_chat_template(messages, tokenize=False,
   * ...)} does.
   *
   * @param addGenerationPrompt append the assistant header (ignored when continuing the final
   *     message)
   * @param continueFinalMessage leave the final message open so the model continues it: the text
   *     ends right after that message's content
   * @param kwargs extra template variables ({@code chat_template_kwargs}, e.g. {@code
   *     enable_thinking}); may be null
   */
  public String render(
      List<ChatMessage> messages,
      boolean addGenerationPrompt,
      boolean continueFinalMessage,
      Map<String, ?> kwargs) {
    List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
    for (ChatMessage m : messages) {
      msgs.add(m.toTemplateMap());
    }
    boolean cont = continueFinalMessage && !msgs.isEmpty();
    String finalContent = null;
    if (cont) {
      Map<String, Object> last = msgs.get(msgs.size() - 1);
      finalContent = String.valueOf(last.get("content"));
      last.put("content", finalContent + CONTINUE_TAG);
    }
    String out = renderMaps(msgs, addGenerationPrompt && !cont, kwargs);
    return cont ? cutAtContinueTag(out, finalContent) : out;
  }

  private String renderMaps(
      List<Map<String, Object>> messages, boolean addGenerationPrompt, Map<String, ?> kwargs) {
    Map<String, Object> ctx = new LinkedHashMap<>(specialTokens);
    ctx.put("tools", null);
    if (kwargs != null) {
      ctx.putAll(kwargs);
    }
    ctx.put("messages", messages);
    ctx.put("add_generation_prompt", addGenerationPrompt);
    JinjavaInterpreter interpreter =
        new PythonOutput(
            JINJAVA, new Context(JINJAVA.getGlobalContext(), ctx), JINJAVA.getGlobalConfig());
    String output;
    List<TemplateError> errors;
    // Filters and functions find the interpreter as "current" of the rendering thread.
    try (var current = JinjavaInterpreter.closeablePushCurrent(interpreter).get()) {
      output = current.value().render(root);
      errors = current.value().getErrorsCopy();
    }
    for (TemplateError e : errors) {
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
    return output;
  }

  /**
   * HF marks the final message's end with this tag before rendering and cuts the text there, so
   * whatever the template appends after the content (end-of-turn tokens) is dropped.
   */
  static final String CONTINUE_TAG = "CONTINUE_FINAL_MESSAGE_TAG ";

  static String cutAtContinueTag(String rendered, String finalMessage) {
    String tag = CONTINUE_TAG.strip();
    int at = rendered.lastIndexOf(tag);
    if (at < 0 || !rendered.contains(PythonStrings.strip(finalMessage, null, true, true))) {
      throw new TemplateException(
          "continue_final_message is set but the final message does not appear in the chat after"
              + " applying the chat template! This can happen if the chat template deletes portions"
              + " of the final message. Please verify the chat template and final message in your"
              + " chat to ensure they are compatible.");
    }
    if (rendered.startsWith(CONTINUE_TAG, at)) {
      return rendered.substring(0, at); // the template kept the message's spacing
    }
    // the template trimmed the message, and the tag's space with it: drop the trailing spacing
    return PythonStrings.strip(rendered.substring(0, at), null, false, true);
  }
}
