package dev.llmstack.router.it;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * Reads Prometheus text with real parsers: the official Python client's ({@code
 * prometheus_client.parser}, Debian's python3-prometheus-client) and {@code promtool check
 * metrics}. A missing tool fails the test with the package to install; CI installs both.
 */
final class PromText {

  record Sample(String name, Map<String, String> labels, double value) {}

  /** The Python parser names a counter family without its {@code _total} suffix. */
  record Family(String name, String type, List<Sample> samples) {}

  private static final String PY =
      """
      import sys, json
      from prometheus_client.parser import text_string_to_metric_families
      out = []
      for f in text_string_to_metric_families(sys.stdin.read()):
          out.append({"name": f.name, "type": f.type,
                      "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
      print(json.dumps(out))
      """;

  private PromText() {}

  static Map<String, Family> parse(String text) throws IOException, InterruptedException {
    String out =
        run(List.of(need("/usr/bin/python3", "python3 python3-prometheus-client"), "-c", PY), text);
    Map<String, Family> families = new TreeMap<>();
    for (JsonNode f : Http.JSON.readTree(out)) {
      List<Sample> samples = new ArrayList<>();
      for (JsonNode s : f.get("samples")) {
        Map<String, String> labels = new TreeMap<>();
        s.get("labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
        samples.add(new Sample(s.get("name").asText(), labels, s.get("value").asDouble()));
      }
      families.put(
          f.get("name").asText(),
          new Family(f.get("name").asText(), f.get("type").asText(), samples));
    }
    return families;
  }

  /** promtool's complaints (parse errors and lint), minus the ':' that vLLM's own names draw. */
  static List<String> promtoolProblems(String text) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(need("/usr/bin/promtool", "prometheus"), "check", "metrics")
            .redirectErrorStream(true)
            .start();
    p.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("promtool did not finish");
    }
    List<String> problems = new ArrayList<>();
    if (p.exitValue() != 0 && p.exitValue() != 3) {
      problems.add("promtool exit " + p.exitValue() + ": " + out.strip());
      return problems;
    }
    for (String line : out.split("\n")) {
      if (!line.isBlank() && !line.endsWith("metric names should not contain ':'")) {
        problems.add(line);
      }
    }
    return problems;
  }

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

  private static String run(List<String> cmd, String stdin)
      throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).start();
    p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new AssertionError(
          err.contains("No module named 'prometheus_client'")
              ? "needs python3-prometheus-client: apt-get install -y python3-prometheus-client"
              : "parser failed: " + err);
    }
    return out;
  }
}
