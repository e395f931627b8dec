package dev.llmstack.protocol.tokenizer;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's {@code str} methods for jinjava. Chat templates are written for Python's Jinja, where a
 * string is a Python {@code str}: {@code content.startswith('<tool_response>')}, {@code
 * content.split('</think>')[-1].lstrip('\n')}. In jinjava a string is a {@link String}, which has
 * none of those methods; this resolver answers the Python names with Python semantics and leaves
 * everything else to jinjava's own resolvers.
 */
final class PythonStrings extends ELResolver {

  @Override
  public Object invoke(
      ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
    if (!(base instanceof String s) || !(method instanceof String name)) {
      return null;
    }
    Object[] p = params == null ? new Object[0] : params;
    Object result = call(s, name, p);
    if (result == NOT_HANDLED) {
      return null;
    }
    context.setPropertyResolved(true);
    return result;
  }

  private static final Object NOT_HANDLED = new Object();

  /** Python's {@code s.name(*p)}, or {@link #NOT_HANDLED} for names that are not str methods. */
  static Object call(String s, String name, Object[] p) {
    return switch (name) {
      case "startswith" -> p.length >= 1 && anyMatch(s, p[0], true);
      case "endswith" -> p.length >= 1 && anyMatch(s, p[0], false);
      case "strip" -> strip(s, chars(p), true, true);
      case "lstrip" -> strip(s, chars(p), true, false);
      case "rstrip" -> strip(s, chars(p), false, true);
      case "split" -> split(s, sep(p), maxSplit(p));
      case "rsplit" -> rsplit(s, sep(p), maxSplit(p));
      case "splitlines" -> s.lines().toList();
      case "upper" -> s.toUpperCase(Locale.ROOT);
      case "lower" -> s.toLowerCase(Locale.ROOT);
      case "capitalize" ->
          s.isEmpty()
              ? s
              : s.substring(0, 1).toUpperCase(Locale.ROOT)
                  + s.substring(1).toLowerCase(Locale.ROOT);
      case "title" -> title(s);
      case "replace" -> replace(s, str(p, 0), str(p, 1), p.length > 2 ? toInt(p[2]) : -1);
      case "find" -> s.indexOf(str(p, 0));
      case "rfind" -> s.lastIndexOf(str(p, 0));
      case "count" -> count(s, str(p, 0));
      case "join" -> join(s, p.length > 0 ? p[0] : List.of());
      case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
      case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
      case "isspace" -> !s.isEmpty() && s.chars().allMatch(PythonStrings::isSpace);
      default -> NOT_HANDLED;
    };
  }

  /**
   * Python's {@code str.isspace()} for one character (wider than {@code Character.isWhitespace}).
   */
  static boolean isSpace(int c) {
    return switch (c) {
      case ' ', '\t', '\n', '\r', 0x0b, 0x0c, 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680 -> true;
      case 0x2028, 0x2029, 0x202f, 0x205f, 0x3000 -> true;
      default -> c >= 0x2000 && c <= 0x200a;
    };
  }

  /** Python's {@code s.strip(chars)}: whitespace when {@code chars} is null. */
  static String strip(String s, String chars, boolean left, boolean right) {
    int from = 0;
    int to = s.length();
    if (left) {
      while (from < to && stripped(s.charAt(from), chars)) {
        from++;
      }
    }
    if (right) {
      while (to > from && stripped(s.charAt(to - 1), chars)) {
        to--;
      }
    }
    return s.substring(from, to);
  }

  private static boolean stripped(char c, String chars) {
    return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
  }

  /** Python's {@code s.split(sep, maxsplit)}: runs of whitespace when {@code sep} is null. */
  static List<String> split(String s, String sep, int maxSplit) {
    List<String> out = new ArrayList<>();
    if (sep == null) {
      int i = 0;
      int n = s.length();
      while (true) {
        while (i < n && isSpace(s.charAt(i))) {
          i++;
        }
        if (i == n) {
          return out;
        }
        if (maxSplit >= 0 && out.size() == maxSplit) {
          out.add(strip(s.substring(i), null, false, true));
          return out;
        }
        int j = i;
        while (j < n && !isSpace(s.charAt(j))) {
          j++;
        }
        out.add(s.substring(i, j));
        i = j;
      }
    }
    if (sep.isEmpty()) {
      throw new IllegalArgumentException("empty separator");
    }
    int from = 0;
    int at;
    while ((maxSplit < 0 || out.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0) {
      out.add(s.substring(from, at));
      from = at + sep.length();
    }
    out.add(s.substring(from));
    return out;
  }

  private static List<String> rsplit(String s, String sep, int maxSplit) {
    if (sep == null || maxSplit < 0) {
      return split(s, sep, maxSplit);
    }
    List<String> out = new ArrayList<>();
    int to = s.length();
    int at;
    while (out.size() < maxSplit && (at = s.lastIndexOf(sep, to - sep.length())) >= 0) {
      out.add(0, s.substring(at + sep.length(), to));
      to = at;
    }
    out.add(0, s.substring(0, to));
    return out;
  }

  private static boolean anyMatch(String s, Object affix, boolean prefix) {
    if (affix instanceof Collection<?> options) {
      for (Object o : options) {
        if (anyMatch(s, o, prefix)) {
          return true;
        }
      }
      return false;
    }
    String a = String.valueOf(affix);
    return prefix ? s.startsWith(a) : s.endsWith(a);
  }

  private static String title(String s) {
    StringBuilder out = new StringBuilder(s.length());
    boolean previousCased = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      out.append(previousCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
      previousCased = Character.isLetter(c);
    }
    return out.toString();
  }

  private static String replace(String s, String old, String by, int count) {
    if (count < 0) {
      return s.replace(old, by);
    }
    StringBuilder out = new StringBuilder();
    int from = 0;
    int at;
    int done = 0;
    while (done < count && !old.isEmpty() && (at = s.indexOf(old, from)) >= 0) {
      out.append(s, from, at).append(by);
      from = at + old.length();
      done++;
    }
    return out.append(s, from, s.length()).toString();
  }

  private static int count(String s, String sub) {
    if (sub.isEmpty()) {
      return s.length() + 1;
    }
    int n = 0;
    int from = 0;
    int at;
    while ((at = s.indexOf(sub, from)) >= 0) {
      n++;
      from = at + sub.length();
    }
    return n;
  }

  private static String join(String sep, Object items) {
    List<String> parts = new ArrayList<>();
    if (items instanceof Iterable<?> it) {
      it.forEach(o -> parts.add(String.valueOf(o)));
    } else if (items instanceof Object[] arr) {
      for (Object o : arr) {
        parts.add(String.valueOf(o));
      }
    } else {
      parts.add(String.valueOf(items));
    }
    return String.join(sep, parts);
  }

  private static String chars(Object[] p) {
    return p.length > 0 && p[0] != null ? String.valueOf(p[0]) : null;
  }

  private static String sep(Object[] p) {
    return p.length > 0 && p[0] != null ? String.valueOf(p[0]) : null;
  }

  private static int maxSplit(Object[] p) {
    return p.length > 1 ? toInt(p[1]) : -1;
  }

  private static String str(Object[] p, int i) {
    return p.length > i ? String.valueOf(p[i]) : "";
  }

  private static int toInt(Object o) {
    return o instanceof Number n ? n.intValue() : Integer.parseInt(String.valueOf(o));
  }

  // Property access is left to jinjava's resolvers.

  @Override
  public Object getValue(ELContext context, Object base, Object property) {
    return null;
  }

  @Override
  public Class<?> getType(ELContext context, Object base, Object property) {
    return null;
  }

  @Override
  public void setValue(ELContext context, Object base, Object property, Object value) {}

  @Override
  public boolean isReadOnly(ELContext context, Object base, Object property) {
    return true;
  }

  @Override
  public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
    return null;
  }

  @Override
  public Class<?> getCommonPropertyType(ELContext context, Object base) {
    return null;
  }
}
