package dev.llmstack.router.it;

import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names a PromQL expression reads: identifiers that are not functions, keywords, label
 * names (inside braces or by/without/on/ignoring/group_* lists), durations or Grafana variables.
 */
final class PromQlNames {

  private static final Set<String> KEYWORDS =
      Set.of(
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "bool",
          "and",
          "or",
          "unless",
          "offset",
          "inf",
          "nan",
          "Inf",
          "NaN");
  private static final Pattern STRINGS = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'[^']*'");
  private static final Pattern BRACES = Pattern.compile("\\{[^}]*\\}|\\[[^\\]]*\\]");
  private static final Pattern LABEL_LISTS =
      Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  private static final Pattern VARIABLES = Pattern.compile("\\$\\{[^}]*\\}|\\$\\w+");
  private static final Pattern IDENT =
      Pattern.compile("(?<![\\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\\s*\\()?");

  private PromQlNames() {}

  static Set<String> of(String expr) {
    String s = VARIABLES.matcher(expr).replaceAll(" ");
    s = STRINGS.matcher(s).replaceAll(" ");
    s = BRACES.matcher(s).replaceAll(" ");
    s = LABEL_LISTS.matcher(s).replaceAll(" ");
    Set<String> names = new TreeSet<>();
    Matcher m = IDENT.matcher(s);
    while (m.find()) {
      String id = m.group(1);
      boolean call = m.group(2) != null;
      if (!call && !KEYWORDS.contains(id)) {
        names.add(id);
      }
    }
    return names;
  }
}
