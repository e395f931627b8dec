package dev.llmstack.protocol.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
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
    List<Sample> samples = samples(text.toString(), metric, 1);
    return samples.isEmpty() ? null : samples.get(0).labels().get(label);
  }

  /**
   * The labels of the sample of {@code metric} with the largest value, or null when there is none:
   * how vLLM's {@code vllm:lora_requests_info} works, a gauge set to the current time under the
   * labels that describe the state now, so older label sets linger with older timestamps.
   */
  public static Map<String, String> newestLabels(CharSequence text, String metric) {
    Map<String, String> best = null;
    double bestValue = Double.NEGATIVE_INFINITY;
    for (Sample s : samples(text.toString(), metric, Integer.MAX_VALUE)) {
      if (s.value() > bestValue) { // NaN (an unreadable value) never is
        bestValue = s.value();
        best = s.labels();
      }
    }
    return best;
  }

  /** One sample line with labels; value NaN when it is not a number. */
  private record Sample(Map<String, String> labels, double value) {}

  /** Up to {@code max} samples of {@code metric} written with labels, in order. */
  private static List<Sample> samples(String t, String metric, int max) {
    List<Sample> out = new ArrayList<>();
    String start = metric + "{";
    int at = t.startsWith(start) ? 0 : t.indexOf("\n" + start);
    while (at >= 0 && out.size() < max) {
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
        double v;
        try {
          v = Double.parseDouble(space < 0 ? rest : rest.substring(0, space));
        } catch (NumberFormatException e) {
          v = Double.NaN;
        }
        out.add(new Sample(labels, v));
      }
      at = t.indexOf("\n" + start, eol - 1);
    }
    return out;
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
