package dev.llmstack.bench.runner;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar on stderr, redrawn in place when stderr is a terminal and printed every
 * few seconds otherwise (so CI logs stay short).
 */
public final class Progress {

  private final PrintStream out;
  private final String label;
  private final boolean terminal = System.console() != null;
  private long lastPrint;

  public Progress(PrintStream out, String label) {
    this.out = out;
    this.label = label;
  }

  public void update(int done, int total, int errors, long nowNanos) {
    long interval = terminal ? 250_000_000L : 5_000_000_000L;
    if (nowNanos - lastPrint < interval && done < total) {
      return;
    }
    lastPrint = nowNanos;
    int width = 30;
    int filled = total <= 0 ? 0 : (int) ((long) width * done / total);
    String bar = "#".repeat(filled) + ".".repeat(width - filled);
    String line =
        String.format(
            Locale.ROOT, "%s [%s] %d/%d requests, %d errors", label, bar, done, total, errors);
    if (terminal) {
      out.print("\r" + line + (done >= total ? "\n" : ""));
    } else {
      out.println(line);
    }
    out.flush();
  }
}
