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
}
