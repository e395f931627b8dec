package dev.llmstack.bench.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.llmstack.bench.runner.RunResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes DIR/report.json (every figure of every run), DIR/*.png charts and DIR/report.html, a
 * self-contained page (no network, no script needed to read it) with the figures side by side.
 */
public final class ReportWriter {

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** Columns of the HTML summary table: field, heading, format. */
  private static final String[][] COLUMNS = {
    {"requests", "requests", "%.0f"},
    {"errors", "errors", "%.0f"},
    {"ttft_p50_s", "TTFT p50 (s)", "%.3f"},
    {"ttft_p90_s", "TTFT p90 (s)", "%.3f"},
    {"ttft_p99_s", "TTFT p99 (s)", "%.3f"},
    {"itl_p50_s", "ITL p50 (ms)", "ms"},
    {"tpot_p50_s", "TPOT p50 (ms)", "ms"},
    {"e2e_p50_s", "E2E p50 (s)", "%.2f"},
    {"request_throughput", "req/s", "%.2f"},
    {"output_tokens_per_s", "output tok/s", "%.0f"},
    {"cached_token_ratio", "cached ratio", "%.3f"},
  };

  private ReportWriter() {}

  /** Writes the report and returns the summaries it holds. */
  public static List<Map<String, Object>> write(
      Path dir,
      String title,
      String command,
      Map<String, Object> workload,
      List<RunResult> runs,
      Slo slo)
      throws IOException {
    Files.createDirectories(dir);
    List<Map<String, Object>> summaries = new ArrayList<>();
    for (RunResult run : runs) {
      summaries.add(RunSummary.of(run, slo));
    }
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("title", title);
    root.put("command", command);
    root.put("generated_at", Instant.now().toString());
    root.put("workload", workload);
    root.put("runs", summaries);
    JSON.writeValue(dir.resolve("report.json").toFile(), root);
    List<Charts.Chart> charts = Charts.writeAll(runs, dir);
    Files.writeString(
        dir.resolve("report.html"), html(title, command, workload, summaries, charts));
    return summaries;
  }

  private static String html(
      String title,
      String command,
      Map<String, Object> workload,
      List<Map<String, Object>> runs,
      List<Charts.Chart> charts) {
    StringBuilder h = new StringBuilder(16_384);
    h.append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>")
        .append(esc(title))
        .append("</title>\n<style>\n")
        .append("body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}\n")
        .append("table{border-collapse:collapse;margin:12px 0}")
        .append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}")
        .append("th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\n")
        .append("code{background:#f6f6f6;padding:2px 4px}")
        .append("figure{display:inline-block;margin:8px}img{max-width:100%}\n")
        .append("</style></head><body>\n<h1>")
        .append(esc(title))
        .append("</h1>\n<p>Command: <code>")
        .append(esc(command))
        .append("</code></p>\n<p>Workload: <code>")
        .append(esc(workload.toString()))
        .append("</code></p>\n<h2>Summary</h2>\n<table id=\"summary\"><tr><th>run</th>");
    for (String[] c : COLUMNS) {
      h.append("<th>").append(esc(c[1])).append("</th>");
    }
    h.append("</tr>\n");
    for (Map<String, Object> run : runs) {
      h.append("<tr><td>").append(esc(String.valueOf(run.get("name")))).append("</td>");
      for (String[] c : COLUMNS) {
        Object v = run.get(c[0]);
        double d = v instanceof Number n ? n.doubleValue() : 0;
        String text =
            c[2].equals("ms")
                ? String.format(Locale.ROOT, "%.1f", d * 1000)
                : String.format(Locale.ROOT, c[2], d);
        h.append("<td>").append(text).append("</td>");
      }
      h.append("</tr>\n");
    }
    h.append("</table>\n<h2>Charts</h2>\n");
    for (Charts.Chart c : charts) {
      h.append("<figure><img src=\"")
          .append(c.file())
          .append("\" alt=\"")
          .append(esc(c.title()))
          .append("\" width=\"")
          .append(Charts.WIDTH)
          .append("\"><figcaption>")
          .append(esc(c.title()))
          .append("</figcaption></figure>\n");
    }
    h.append("<h2>Per engine</h2>\n");
    for (Map<String, Object> run : runs) {
      h.append("<h3>").append(esc(String.valueOf(run.get("name")))).append("</h3>\n");
      h.append(
          "<table><tr><th>engine</th><th>requests</th><th>prompt tokens</th>"
              + "<th>cached tokens</th><th>cached ratio</th></tr>\n");
      @SuppressWarnings("unchecked")
      Map<String, Map<String, Object>> per =
          (Map<String, Map<String, Object>>) run.getOrDefault("per_engine", Map.of());
      per.forEach(
          (engine, e) ->
              h.append("<tr><td>")
                  .append(esc(engine))
                  .append("</td><td>")
                  .append(e.get("requests"))
                  .append("</td><td>")
                  .append(e.get("prompt_tokens"))
                  .append("</td><td>")
                  .append(e.get("cached_tokens"))
                  .append("</td><td>")
                  .append(String.format(Locale.ROOT, "%.3f", (double) e.get("cached_token_ratio")))
                  .append("</td></tr>\n"));
      h.append("</table>\n");
    }
    // Marks the page ready once every chart image has loaded: what the headless-browser test reads.
    h.append(
        "<script>\n"
            + "function check(){var imgs=[...document.images];"
            + "if(imgs.every(i=>i.complete)){document.body.dataset.charts="
            + "imgs.filter(i=>i.naturalWidth>0).length+'/'+imgs.length;}"
            + "else{setTimeout(check,50);}}\n"
            + "window.addEventListener('load',check);\n</script>\n");
    h.append("</body></html>\n");
    return h.toString();
  }

  private static String esc(String s) {
    return s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;");
  }
}
