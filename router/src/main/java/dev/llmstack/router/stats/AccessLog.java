package dev.llmstack.router.stats;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The structured access log: one JSON object per request and line, written by its own thread so an
 * event loop never waits on a disk. A full queue drops lines (counted) rather than stall traffic.
 */
public final class AccessLog implements AutoCloseable {

  /**
   * One finished request. Negative numbers mean unknown; {@code firstTokenMs} is only known for
   * streamed responses (the first body piece), where it can differ from the head's arrival.
   */
  public record Entry(
      String requestId,
      String path,
      String model,
      String engine,
      String policy,
      String reason,
      int status,
      int attempts,
      double firstByteMs,
      double firstTokenMs,
      double durationMs,
      long promptTokens,
      long completionTokens,
      long cachedTokens,
      boolean stream) {}

  private static final JsonFactory JSON = new JsonFactory();

  private final Writer out;
  private final boolean ownsOut;
  private final ArrayBlockingQueue<Entry> queue = new ArrayBlockingQueue<>(65_536);
  private final AtomicLong dropped = new AtomicLong();
  private final Thread writer;
  private volatile boolean closed;

  /** Writes to {@code target}: a file path (appended), or "-" for standard output. */
  public AccessLog(String target) throws IOException {
    this.ownsOut = !target.equals("-");
    this.out =
        target.equals("-")
            ? new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8))
            : Files.newBufferedWriter(
                Path.of(target), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    this.writer = Thread.ofPlatform().name("access-log").daemon(true).start(this::run);
  }

  public void log(Entry e) {
    if (!queue.offer(e)) {
      dropped.incrementAndGet();
    }
  }

  public long dropped() {
    return dropped.get();
  }

  private void run() {
    try {
      while (!closed || !queue.isEmpty()) {
        Entry e = queue.poll(200, TimeUnit.MILLISECONDS);
        if (e == null) {
          out.flush();
          continue;
        }
        out.write(line(e));
        out.write('\n');
        if (queue.isEmpty()) {
          out.flush();
        }
      }
      out.flush();
    } catch (IOException | InterruptedException e) {
      // the log is best effort; traffic goes on
    }
  }

  static String line(Entry e) throws IOException {
    StringWriter sw = new StringWriter(256);
    try (JsonGenerator g = JSON.createGenerator(sw)) {
      g.writeStartObject();
      g.writeStringField("ts", Instant.now().toString());
      g.writeStringField("request_id", e.requestId());
      g.writeStringField("path", e.path());
      g.writeStringField("model", e.model());
      g.writeStringField("engine", e.engine());
      g.writeStringField("policy", e.policy());
      g.writeStringField("reason", e.reason());
      g.writeNumberField("status", e.status());
      g.writeNumberField("attempts", e.attempts());
      g.writeBooleanField("stream", e.stream());
      number(g, "ttfb_ms", e.firstByteMs());
      number(g, "ttft_ms", e.firstTokenMs());
      number(g, "duration_ms", e.durationMs());
      number(g, "prompt_tokens", e.promptTokens());
      number(g, "completion_tokens", e.completionTokens());
      number(g, "cached_tokens", e.cachedTokens());
      g.writeEndObject();
    }
    return sw.toString();
  }

  private static void number(JsonGenerator g, String name, double v) throws IOException {
    if (v < 0) {
      g.writeNullField(name);
    } else {
      g.writeNumberField(name, Math.round(v * 1000) / 1000.0);
    }
  }

  private static void number(JsonGenerator g, String name, long v) throws IOException {
    if (v < 0) {
      g.writeNullField(name);
    } else {
      g.writeNumberField(name, v);
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      writer.join(2000);
      if (ownsOut) {
        out.close();
      } else {
        out.flush();
      }
    } catch (IOException e) {
      // nothing more to save
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
