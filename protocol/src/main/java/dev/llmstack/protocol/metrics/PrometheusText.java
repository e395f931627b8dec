package dev.llmstack.protocol.metrics;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reads the few series the router needs from a Prometheus text exposition: for each wanted metric
 * name, the sum of its samples over all label sets (an engine with several model names or DP ranks
 * reports one sample each). Not a general parser: it skips comments, tolerates any labels (quoted
 * values may hold spaces, braces and escaped quotes) and optional timestamps.
 */
public final class PrometheusText {

  private PrometheusText() {}

  public static Map<String, Double> sums(CharSequence text, Set<String> wanted) {
    Map<String, Double> out = new HashMap<>();
    int len = text.length();
    int i = 0;
    while (i < len) {
      int end = i;
      while (end < len && text.charAt(end) != '\n') {
        end++;
      }
      parseLine(text, i, end, wanted, out);
      i = end + 1;
    }
    return out;
  }

  private static void parseLine(
      CharSequence t, int from, int to, Set<String> wanted, Map<String, Double> out) {
    if (from >= to || t.charAt(from) == '#') {
      return;
    }
    int p = from;
    while (p < to && t.charAt(p) != '{' && t.charAt(p) != ' ') {
      p++;
    }
    String name = t.subSequence(from, p).toString();
    if (!wanted.contains(name)) {
      return;
    }
    if (p < to && t.charAt(p) == '{') {
      boolean quoted = false;
      p++;
      while (p < to) {
        char c = t.charAt(p);
        if (quoted && c == '\\') {
          p += 2;
          continue;
        }
        if (c == '"') {
          quoted = !quoted;
        } else if (c == '}' && !quoted) {
          p++;
          break;
        }
        p++;
      }
    }
    while (p < to && t.charAt(p) == ' ') {
      p++;
    }
    int vEnd = p;
    while (vEnd < to && t.charAt(vEnd) != ' ') {
      vEnd++;
    }
    if (vEnd == p) {
      return;
    }
    try {
      double v = Double.parseDouble(t.subSequence(p, vEnd).toString());
      if (!Double.isNaN(v)) {
        out.merge(name, v, Double::sum);
      }
    } catch (NumberFormatException e) {
      // not a sample line we understand; skip it
    }
  }

  /**
   * The value of label {@code label} on the first sample of {@code metric}, or null: how an info
   * metric such as {@code vllm:cache_config_info{num_gpu_blocks="..."}} carries its data.
   */
  public static String label(CharSequence text, String metric, String label) {
    String t = text.toString();
    String start = metric + "{";
    int at = t.startsWith(start) ? 0 : t.indexOf("\n" + start);
    if (at < 0) {
      return null;
    }
    int open = t.indexOf('{', at);
    int close = t.indexOf('}', open);
    int eol = t.indexOf('\n', open);
    if (close < 0 || (eol >= 0 && eol < close)) {
      return null;
    }
    String labels = t.substring(open + 1, close);
    String key = label + "=\"";
    int k = 0;
    while ((k = labels.indexOf(key, k)) >= 0) {
      if (k == 0 || labels.charAt(k - 1) == ',' || labels.charAt(k - 1) == ' ') {
        int from = k + key.length();
        int to = labels.indexOf('"', from);
        return to < 0 ? null : labels.substring(from, to);
      }
      k += key.length();
    }
    return null;
  }

  /**
   * The labels of the sample of {@code metric} with the largest value, or null when there is none:
   * how vLLM's {@code vllm:lora_requests_info} works, a gauge set to the current time under the
   * labels that describe the state now, so older label sets linger with older timestamps.
   */
  public static Map<String, String> newestLabels(CharSequence text, String metric) {
    String t = text.toString();
    String start = metric + "{";
    Map<String, String> best = null;
    double bestValue = Double.NEGATIVE_INFINITY;
    int at = t.startsWith(start) ? 0 : t.indexOf("\n" + start);
    while (at >= 0) {
      int open = t.indexOf('{', at);
      int eol = t.indexOf('\n', open);
      if (eol < 0) {
        eol = t.length();
      }
      Map<String, String> labels = new HashMap<>();
      int close = labels(t, open + 1, eol, labels);
      if (close > 0) {
        String rest = t.substring(close + 1, eol).strip();
        int space = rest.indexOf(' ');
        try {
          double v = Double.parseDouble(space < 0 ? rest : rest.substring(0, space));
          if (v > bestValue) {
            bestValue = v;
            best = labels;
          }
        } catch (NumberFormatException e) {
          // not a sample we understand
        }
      }
      at = t.indexOf("\n" + start, eol - 1);
    }
    return best;
  }

  /** Parses {@code name="value",...} up to the closing brace; returns its index, or -1. */
  private static int labels(String t, int from, int to, Map<String, String> out) {
    int p = from;
    while (p < to) {
      while (p < to && (t.charAt(p) == ',' || t.charAt(p) == ' ')) {
        p++;
      }
      if (p < to && t.charAt(p) == '}') {
        return p;
      }
      int eq = t.indexOf('=', p);
      if (eq < 0 || eq >= to || eq + 1 >= to || t.charAt(eq + 1) != '"') {
        return -1;
      }
      StringBuilder v = new StringBuilder();
      int q = eq + 2;
      while (q < to && t.charAt(q) != '"') {
        char c = t.charAt(q);
        if (c == '\\' && q + 1 < to) {
          char n = t.charAt(++q);
          v.append(n == 'n' ? '\n' : n);
        } else {
          v.append(c);
        }
        q++;
      }
      if (q >= to) {
        return -1;
      }
      out.put(t.substring(p, eq).strip(), v.toString());
      p = q + 1;
    }
    return -1;
  }
}
