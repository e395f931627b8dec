package dev.llmstack.bench.runner;

import java.util.ArrayList;
import java.util.List;
import org.HdrHistogram.Histogram;

/** Collects records and inter-token gaps from concurrent requests. */
public final class RecordSink {

  /** Gaps up to an hour, three significant digits. */
  private final Histogram itl = new Histogram(3_600_000_000L, 3);

  private final List<RequestRecord> records = new ArrayList<>();

  public synchronized void gap(long nanos) {
    record(nanos);
  }

  /** Records a batch of gaps under one lock (a stream's gaps, at its end). */
  public synchronized void gaps(long[] nanos, int count) {
    for (int i = 0; i < count; i++) {
      record(nanos[i]);
    }
  }

  private void record(long nanos) {
    itl.recordValue(Math.max(0, Math.min(nanos / 1000, itl.getHighestTrackableValue())));
  }

  public synchronized void add(RequestRecord r) {
    records.add(r);
  }

  public synchronized int size() {
    return records.size();
  }

  public synchronized int errors() {
    int n = 0;
    for (RequestRecord r : records) {
      if (!r.ok()) {
        n++;
      }
    }
    return n;
  }

  public synchronized List<RequestRecord> records() {
    return List.copyOf(records);
  }

  public synchronized Histogram itl() {
    return itl.copy();
  }
}
