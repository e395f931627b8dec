package dev.llmstack.protocol.tokenizer;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * JSON text exactly as Python's {@code json.dumps(x, ensure_ascii=False, indent=...,
 * sort_keys=...)} writes it, which is what HF transformers' {@code tojson} filter gives chat
 * templates: {@code ", "} and {@code ": "} between items on one line, {@code ","} and newlines when
 * indented, non-ASCII text kept as is. Tool schemas rendered into a prompt must match it character
 * for character, or the prompt's token count differs from vLLM's.
 */
final class PythonJson {

  private PythonJson() {}

  /**
   * @param indent spaces per level, or -1 for one line
   */
  static String dumps(Object value, int indent, boolean sortKeys) {
    StringBuilder out = new StringBuilder();
    write(out, value, indent, sortKeys, 0);
    return out.toString();
  }

  private static void write(StringBuilder out, Object v, int indent, boolean sort, int depth) {
    if (v == null) {
      out.append("null");
    } else if (v instanceof CharSequence s) {
      quote(out, s.toString());
    } else if (v instanceof Boolean b) {
      out.append(b ? "true" : "false");
    } else if (v instanceof Double || v instanceof Float) {
      out.append(pythonFloat(((Number) v).doubleValue()));
    } else if (v instanceof BigDecimal d) {
      out.append(pythonFloat(d.doubleValue()));
    } else if (v instanceof Number n) {
      out.append(n.toString());
    } else if (v instanceof Map<?, ?> m) {
      Map<?, ?> entries = sort ? new TreeMap<>(stringKeys(m)) : m;
      if (entries.isEmpty()) {
        out.append("{}");
        return;
      }
      out.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : entries.entrySet()) {
        separator(out, first, indent, depth + 1);
        first = false;
        quote(out, String.valueOf(e.getKey()));
        out.append(": ");
        write(out, e.getValue(), indent, sort, depth + 1);
      }
      close(out, indent, depth);
      out.append('}');
    } else if (v instanceof Iterable<?> || v.getClass().isArray()) {
      List<Object> items = items(v);
      if (items.isEmpty()) {
        out.append("[]");
        return;
      }
      out.append('[');
      boolean first = true;
      for (Object item : items) {
        separator(out, first, indent, depth + 1);
        first = false;
        write(out, item, indent, sort, depth + 1);
      }
      close(out, indent, depth);
      out.append(']');
    } else {
      quote(out, v.toString());
    }
  }

  private static Map<String, Object> stringKeys(Map<?, ?> m) {
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    m.forEach((k, val) -> out.put(String.valueOf(k), val));
    return out;
  }

  private static List<Object> items(Object v) {
    List<Object> items = new ArrayList<>();
    if (v instanceof Iterable<?> it) {
      it.forEach(items::add);
    } else {
      for (int i = 0; i < Array.getLength(v); i++) {
        items.add(Array.get(v, i));
      }
    }
    return items;
  }

  private static void separator(StringBuilder out, boolean first, int indent, int depth) {
    if (indent < 0) {
      if (!first) {
        out.append(", ");
      }
      return;
    }
    if (!first) {
      out.append(',');
    }
    out.append('\n').append(" ".repeat(indent * depth));
  }

  private static void close(StringBuilder out, int indent, int depth) {
    if (indent >= 0) {
      out.append('\n').append(" ".repeat(indent * depth));
    }
  }

  /**
   * Python's float repr: the shortest digits that round-trip (Java's {@code Double.toString} finds
   * the same digits), positional for exponents -4 to 15 with at least one decimal, else {@code
   * 1e-05} style.
   */
  static String pythonFloat(double d) {
    if (Double.isNaN(d)) {
      return "NaN";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "Infinity" : "-Infinity";
    }
    if (d == 0) {
      return (1 / d < 0) ? "-0.0" : "0.0";
    }
    BigDecimal digits = new BigDecimal(Double.toString(d)).stripTrailingZeros();
    int exp10 = digits.precision() - digits.scale() - 1;
    if (exp10 >= -4 && exp10 < 16) {
      String plain = digits.toPlainString();
      return plain.indexOf('.') < 0 ? plain + ".0" : plain;
    }
    String unscaled = digits.unscaledValue().abs().toString();
    String mantissa =
        unscaled.length() == 1 ? unscaled : unscaled.charAt(0) + "." + unscaled.substring(1);
    return (d < 0 ? "-" : "")
        + mantissa
        + "e"
        + (exp10 < 0 ? "-" : "+")
        + String.format("%02d", Math.abs(exp10));
  }

  private static void quote(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
