package dev.llmstack.bench.report;

import dev.llmstack.bench.runner.RequestRecord;
import dev.llmstack.bench.runner.RunResult;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.geom.Ellipse2D;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.HdrHistogram.HistogramIterationValue;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** The report's PNG charts, one series per run so runs compare side by side. */
final class Charts {

  static final int WIDTH = 900;
  static final int HEIGHT = 480;

  private static final Color[] PALETTE = {
    new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
    new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f)
  };

  private Charts() {}

  /** A chart file and its caption. */
  record Chart(String file, String title) {}

  static List<Chart> writeAll(List<RunResult> runs, Path dir) throws IOException {
    System.setProperty("java.awt.headless", "true");
    List<Chart> out = new ArrayList<>();
    out.add(
        cdf(
            runs,
            dir,
            "ttft_cdf.png",
            "TTFT distribution",
            "TTFT (s)",
            RequestRecord::ttftSeconds));
    out.add(itlCdf(runs, dir));
    out.add(
        cdf(
            runs,
            dir,
            "e2e_cdf.png",
            "End-to-end latency distribution",
            "E2E latency (s)",
            RequestRecord::e2eSeconds));
    out.add(ttftOverTime(runs, dir));
    out.add(throughput(runs, dir));
    out.add(perEngine(runs, dir, "engine_load.png", "Requests per engine", "requests", false));
    out.add(
        perEngine(
            runs,
            dir,
            "engine_hit_rate.png",
            "Prefix-cache hit rate per engine",
            "cached / prompt tokens",
            true));
    return out;
  }

  private static Chart cdf(
      List<RunResult> runs,
      Path dir,
      String file,
      String title,
      String axis,
      java.util.function.ToDoubleFunction<RequestRecord> metric)
      throws IOException {
    XYSeriesCollection data = new XYSeriesCollection();
    for (RunResult run : runs) {
      double[] v = run.records().stream().filter(RequestRecord::ok).mapToDouble(metric).toArray();
      Percentiles p = new Percentiles(v);
      double[] s = p.sorted();
      XYSeries series = new XYSeries(run.name(), false, true);
      int step = Math.max(1, s.length / 2000);
      for (int i = 0; i < s.length; i += step) {
        series.add(Math.max(1e-4, s[i]), (i + 1) / (double) s.length);
      }
      if (s.length > 0) {
        series.add(Math.max(1e-4, s[s.length - 1]), 1.0);
      }
      data.addSeries(series);
    }
    return save(lines(title, axis, "fraction of requests", data, true), dir, file, title);
  }

  private static Chart itlCdf(List<RunResult> runs, Path dir) throws IOException {
    XYSeriesCollection data = new XYSeriesCollection();
    for (RunResult run : runs) {
      XYSeries series = new XYSeries(run.name(), false, true);
      long total = run.itlMicros().getTotalCount();
      long seen = 0;
      for (HistogramIterationValue v : run.itlMicros().recordedValues()) {
        seen += v.getCountAtValueIteratedTo();
        series.add(Math.max(1e-4, v.getValueIteratedTo() / 1e6), seen / (double) total);
      }
      data.addSeries(series);
    }
    String title = "Inter-token latency distribution";
    return save(lines(title, "ITL (s)", "fraction of gaps", data, true), dir, "itl_cdf.png", title);
  }

  private static Chart ttftOverTime(List<RunResult> runs, Path dir) throws IOException {
    XYSeriesCollection data = new XYSeriesCollection();
    for (RunResult run : runs) {
      XYSeries series = new XYSeries(run.name(), false, true);
      List<RequestRecord> ok = run.records().stream().filter(RequestRecord::ok).toList();
      int step = Math.max(1, ok.size() / 3000);
      for (int i = 0; i < ok.size(); i += step) {
        RequestRecord r = ok.get(i);
        series.add(r.intendedNanos() / 1e9, r.ttftSeconds());
      }
      data.addSeries(series);
    }
    String title = "TTFT over time (by send time)";
    JFreeChart chart = lines(title, "time (s)", "TTFT (s)", data, false);
    XYLineAndShapeRenderer dots = new XYLineAndShapeRenderer(false, true);
    for (int i = 0; i < data.getSeriesCount(); i++) {
      dots.setSeriesShape(i, new Ellipse2D.Double(-1.5, -1.5, 3, 3));
      dots.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
    }
    chart.getXYPlot().setRenderer(dots);
    return save(chart, dir, "ttft_over_time.png", title);
  }

  /** Output tokens per second in 60 buckets over the run, each request's tokens spread evenly. */
  private static Chart throughput(List<RunResult> runs, Path dir) throws IOException {
    XYSeriesCollection data = new XYSeriesCollection();
    long span = 1;
    for (RunResult run : runs) {
      span = Math.max(span, run.durationNanos());
    }
    int buckets = 60;
    double width = span / (double) buckets;
    for (RunResult run : runs) {
      double[] tokens = new double[buckets];
      for (RequestRecord r : run.records()) {
        if (!r.ok() || r.outputTokens() == 0) {
          continue;
        }
        double a = r.firstTokenNanos();
        double b = Math.max(a + 1, r.endNanos());
        double perNano = r.outputTokens() / (b - a);
        for (int k = (int) (a / width); k <= Math.min(buckets - 1, (int) (b / width)); k++) {
          double lo = Math.max(a, k * width);
          double hi = Math.min(b, (k + 1) * width);
          if (hi > lo) {
            tokens[k] += (hi - lo) * perNano;
          }
        }
      }
      XYSeries series = new XYSeries(run.name(), false, true);
      for (int k = 0; k < buckets; k++) {
        series.add((k + 0.5) * width / 1e9, tokens[k] / (width / 1e9));
      }
      data.addSeries(series);
    }
    String title = "Output throughput over time";
    return save(
        lines(title, "time (s)", "output tokens/s", data, false), dir, "throughput.png", title);
  }

  private static Chart perEngine(
      List<RunResult> runs, Path dir, String file, String title, String axis, boolean hitRate)
      throws IOException {
    DefaultCategoryDataset data = new DefaultCategoryDataset();
    TreeSet<String> engines = new TreeSet<>();
    List<Map<String, Map<String, Object>>> per = new ArrayList<>();
    for (RunResult run : runs) {
      Map<String, Map<String, Object>> m =
          RunSummary.perEngine(run.records().stream().filter(RequestRecord::ok).toList());
      per.add(m);
      engines.addAll(m.keySet());
    }
    for (int i = 0; i < runs.size(); i++) {
      for (String engine : engines) {
        Map<String, Object> e = per.get(i).get(engine);
        double v =
            e == null
                ? 0
                : hitRate
                    ? (double) e.get("cached_token_ratio")
                    : ((Number) e.get("requests")).doubleValue();
        data.addValue(v, runs.get(i).name(), engine);
      }
    }
    JFreeChart chart =
        org.jfree.chart.ChartFactory.createBarChart(
            title, "engine", axis, data, PlotOrientation.VERTICAL, true, false, false);
    CategoryPlot plot = chart.getCategoryPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    BarRenderer r = (BarRenderer) plot.getRenderer();
    r.setBarPainter(new org.jfree.chart.renderer.category.StandardBarPainter());
    r.setShadowVisible(false);
    for (int i = 0; i < runs.size(); i++) {
      r.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
    }
    return save(chart, dir, file, title);
  }

  private static JFreeChart lines(
      String title, String x, String y, XYSeriesCollection data, boolean logX) {
    JFreeChart chart =
        org.jfree.chart.ChartFactory.createXYLineChart(
            title, x, y, data, PlotOrientation.VERTICAL, true, false, false);
    XYPlot plot = chart.getXYPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
    plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
    if (logX) {
      LogAxis axis = new LogAxis(x);
      axis.setSmallestValue(1e-4);
      axis.setNumberFormatOverride(new java.text.DecimalFormat("0.###"));
      plot.setDomainAxis(axis);
    } else {
      ((NumberAxis) plot.getDomainAxis()).setAutoRangeIncludesZero(true);
    }
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
    for (int i = 0; i < data.getSeriesCount(); i++) {
      r.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
      r.setSeriesStroke(i, new BasicStroke(2f));
    }
    plot.setRenderer(r);
    return chart;
  }

  private static Chart save(JFreeChart chart, Path dir, String file, String title)
      throws IOException {
    chart.setBackgroundPaint(Color.WHITE);
    ChartUtils.saveChartAsPNG(dir.resolve(file).toFile(), chart, WIDTH, HEIGHT);
    return new Chart(file, title);
  }
}
