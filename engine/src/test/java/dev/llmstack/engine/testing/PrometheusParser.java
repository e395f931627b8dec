package dev.llmstack.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Parses a Prometheus text exposition with the reference parser of the official Python client
 * ({@code prometheus_client.parser}, Debian's python3-prometheus-client, which CI installs), and
 * checks it with {@code promtool check metrics} from Debian's prometheus package for parse errors.
 * A missing tool fails the test with a clear message rather than passing silently.
 */
public final class PrometheusParser {

  /** One sample as parsed. */
  public record Sample(String name, Map<String, String> labels, double value) {}

  /**
   * One metric family as parsed. The Python parser names a counter family without its {@code
   * _total} suffix (its samples keep it).
   */
  public record Family(String name, String type, String help, List<Sample> samples) {}

  private static final String PY =
      """
      import sys, json
      from prometheus_client.parser import text_string_to_metric_families
      out = []
      for f in text_string_to_metric_families(sys.stdin.read()):
          out.append({"name": f.name, "type": f.type, "help": f.documentation,
                      "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
      print(json.dumps(out))
      """;

  private PrometheusParser() {}

  public static Map<String, Family> parse(String text) throws IOException, InterruptedException {
    Path python = Path.of("/usr/bin/python3");
    if (!Files.isExecutable(python)) {
      throw new AssertionError(
          "needs /usr/bin/python3 with prometheus_client:"
              + " apt-get install -y python3 python3-prometheus-client");
    }
    String out = run(List.of(python.toString(), "-c", PY), text);
    JsonNode root = TestHttp.JSON.readTree(out);
    Map<String, Family> families = new TreeMap<>();
    for (JsonNode f : root) {
      List<Sample> samples = new ArrayList<>();
      for (JsonNode s : f.get("samples")) {
        Map<String, String> labels = new TreeMap<>();
        s.get("labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
        samples.add(new Sample(s.get("name").asText(), labels, s.get("value").asDouble()));
      }
      families.put(
          f.get("name").asText(),
          new Family(
              f.get("name").asText(), f.get("type").asText(), f.get("help").asText(), samples));
    }
    return families;
  }

  /**
   * Runs {@code promtool check metrics} over the text and returns what it found wrong: any parse
   * error, and any lint remark other than the two that vLLM's own names draw (':' in every name,
   * and a histogram named {@code vllm:iteration_tokens_total}). promtool exits 0 when clean, 3 when
   * it has only lint remarks, and 1 on a parse error.
   */
  public static List<String> promtoolProblems(String text)
      throws IOException, InterruptedException {
    Path promtool = Path.of("/usr/bin/promtool");
    if (!Files.isExecutable(promtool)) {
      throw new AssertionError(
          "needs /usr/bin/promtool: apt-get install -y prometheus (Debian's package)");
    }
    Process p =
        new ProcessBuilder(promtool.toString(), "check", "metrics")
            .redirectErrorStream(true)
            .start();
    p.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("promtool did not finish");
    }
    int rc = p.exitValue();
    List<String> problems = new ArrayList<>();
    if (rc != 0 && rc != 3) {
      problems.add("promtool exit " + rc + ": " + out.strip());
      return problems;
    }
    for (String line : out.split("\n")) {
      boolean vllmStyle =
          line.endsWith("metric names should not contain ':'")
              || line.equals(
                  "vllm:iteration_tokens_total non-counter metrics should not have \"_total\""
                      + " suffix");
      if (!line.isBlank() && !vllmStyle) {
        problems.add(line);
      }
    }
    return problems;
  }

  private static String run(List<String> cmd, String stdin)
      throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).start();
    p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      if (err.contains("No module named 'prometheus_client'")) {
        throw new AssertionError(
            "needs Python's prometheus_client for /usr/bin/python3:"
                + " apt-get install -y python3-prometheus-client");
      }
      throw new AssertionError("parser failed: " + err);
    }
    return out;
  }
}
