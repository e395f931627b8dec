package dev.llmstack.bench.workload;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Replays a Mooncake trace (FAST'25 release format: one JSON object a line with {@code timestamp}
 * in ms, {@code input_length}, {@code output_length} and {@code hash_ids}, one per 512-token prompt
 * block). Each hash id becomes a deterministic run of 512 words, so equal ids give equal token runs
 * and different ids different runs; the last block is cut so the prompt has exactly {@code
 * input_length} tokens (plus BOS). Requests go out at their timestamps times {@code timeScale}.
 */
public final class MooncakeTrace implements Workload {

  /** Tokens per hash id in the Mooncake release. */
  public static final int TRACE_BLOCK = 512;

  /** Keeps trace runs apart from other workloads' seeds. */
  private static final long SEED_BASE = 0x4D4F4F4E43414B45L;

  /** One line of the trace. */
  public record Entry(long timestampMs, int inputLength, int outputLength, int[] hashIds) {}

  private final List<Entry> entries;
  private final double timeScale;
  private final int maxOutput;

  /**
   * @param timeScale multiplies the trace's timestamps: 0.5 replays twice as fast
   * @param maxRequests keep only the first this many lines (0 for all)
   * @param maxOutput cap on output tokens (0 for none), to bound a short run
   */
  public MooncakeTrace(List<Entry> entries, double timeScale, int maxRequests, int maxOutput) {
    if (timeScale <= 0) {
      throw new IllegalArgumentException("time scale must be positive, got " + timeScale);
    }
    this.entries =
        maxRequests > 0 && maxRequests < entries.size() ? entries.subList(0, maxRequests) : entries;
    this.timeScale = timeScale;
    this.maxOutput = maxOutput;
  }

  /** Reads a trace file; a missing or malformed file is an IllegalArgumentException. */
  public static List<Entry> read(Path file) {
    ObjectMapper json = new ObjectMapper();
    List<Entry> out = new ArrayList<>();
    try (BufferedReader in = Files.newBufferedReader(file)) {
      String line;
      int n = 0;
      while ((line = in.readLine()) != null) {
        n++;
        if (line.isBlank()) {
          continue;
        }
        JsonNode o = json.readTree(line);
        JsonNode ids = o.get("hash_ids");
        if (o.get("input_length") == null || o.get("output_length") == null || ids == null) {
          throw new IllegalArgumentException(
              file + " line " + n + ": needs input_length, output_length and hash_ids");
        }
        int[] hashIds = new int[ids.size()];
        for (int i = 0; i < hashIds.length; i++) {
          hashIds[i] = ids.get(i).asInt();
        }
        out.add(
            new Entry(
                o.path("timestamp").asLong(0),
                o.get("input_length").asInt(),
                o.get("output_length").asInt(),
                hashIds));
      }
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("trace file not found: " + file);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(
          "trace file " + file + " is not JSON lines: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("trace file " + file + " has no requests");
    }
    return out;
  }

  @Override
  public String name() {
    return "mooncake";
  }

  @Override
  public int expectedRequests() {
    return entries.size();
  }

  @Override
  public void start(Dispatch dispatch) {
    long t0 = entries.get(0).timestampMs();
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      long at = Math.round((e.timestampMs() - t0) * 1e6 * timeScale);
      int out =
          Math.max(1, maxOutput > 0 ? Math.min(maxOutput, e.outputLength()) : e.outputLength());
      dispatch.submit(new BenchRequest("mc-" + i, conversation(e), at, prompt(e), out));
    }
  }

  /**
   * The prompt of a trace line: one run per hash id, 512 words each, the last cut (or stretched
   * when the trace says the prompt is longer) to give exactly {@code input_length} words.
   */
  public static Prompt.Runs prompt(Entry e) {
    int[] ids = e.hashIds();
    int input = Math.max(1, e.inputLength());
    int blocks = Math.max(1, Math.min(ids.length, (input + TRACE_BLOCK - 1) / TRACE_BLOCK));
    if (ids.length == 0) {
      return new Prompt.Runs(new long[] {SEED_BASE - 1}, new int[] {input});
    }
    long[] seeds = new long[blocks];
    int[] lengths = new int[blocks];
    for (int i = 0; i < blocks; i++) {
      seeds[i] = SEED_BASE + ids[i];
      lengths[i] = i < blocks - 1 ? TRACE_BLOCK : input - TRACE_BLOCK * (blocks - 1);
    }
    return new Prompt.Runs(seeds, lengths);
  }

  /**
   * The trace has no conversation ids; turns of one conversation share their leading blocks, so the
   * first two hash ids (the first is often a system prompt everyone shares) stand in for one.
   */
  private static String conversation(Entry e) {
    int[] ids = e.hashIds();
    return ids.length == 0 ? null : ids.length == 1 ? "h" + ids[0] : "h" + ids[0] + "-" + ids[1];
  }
}
