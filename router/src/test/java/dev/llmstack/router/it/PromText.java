package dev.llmstack.router.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/**
 * Small helpers over Prometheus text for the observability tests; parsing itself goes through the
 * real parsers in the engine's {@code PrometheusParser} (Python client, promtool).
 */
final class PromText {

  private PromText() {}

  /** Every sample name in an exposition (histograms give their _bucket, _sum and _count). */
  static Set<String> sampleNames(String text) {
    Set<String> names = new TreeSet<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int end = 0;
      while (end < line.length() && line.charAt(end) != '{' && line.charAt(end) != ' ') {
        end++;
      }
      names.add(line.substring(0, end));
    }
    return names;
  }

  static String need(String path, String debianPackages) {
    if (!Files.isExecutable(Path.of(path))) {
      throw new AssertionError("needs " + path + ": apt-get install -y " + debianPackages);
    }
    return path;
  }
}
