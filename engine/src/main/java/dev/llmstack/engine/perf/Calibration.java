package dev.llmstack.engine.perf;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The figures docs/calibration.md compares with published vLLM measurements: prefill throughput and
 * TTFT of a lone prompt on an idle GPU, and decode inter-token latency and throughput at batch 1,
 * 32 and 128. Run {@code java -cp llmstack.jar dev.llmstack.engine.perf.Calibration [profile...]}
 * to print them.
 */
public final class Calibration {

  private Calibration() {}

  /** Step time of one prompt of {@code tokens} computed in chunks of the profile's token budget. */
  public static double prefillSeconds(Profile p, int tokens) {
    RooflineModel m = new RooflineModel(p);
    double seconds = 0;
    int done = 0;
    while (done < tokens) {
      int chunk = Math.min(p.maxNumBatchedTokens(), tokens - done);
      seconds +=
          m.stepNanos(new BatchShape(chunk, chunk * (done + chunk / 2.0), 0, 0, done + chunk))
              / 1e9;
      done += chunk;
    }
    return seconds;
  }

  /** Decode step time with {@code batch} sequences each holding {@code context} tokens. */
  public static double decodeSeconds(Profile p, int batch, int context) {
    return new RooflineModel(p).stepNanos(new BatchShape(0, 0, batch, (long) batch * context, 0))
        / 1e9;
  }

  public static Map<String, Double> figures(Profile p) {
    Map<String, Double> f = new LinkedHashMap<>();
    for (int prompt : new int[] {1024, 4096}) {
      double s = prefillSeconds(p, prompt);
      f.put("ttft_ms_prompt_" + prompt, s * 1000);
      f.put("prefill_tokens_per_s_prompt_" + prompt, prompt / s);
    }
    for (int context : new int[] {1024, 4096}) {
      for (int batch : new int[] {1, 32, 128}) {
        double s = decodeSeconds(p, batch, context);
        f.put("itl_ms_batch_" + batch + "_ctx_" + context, s * 1000);
        f.put("decode_tokens_per_s_batch_" + batch + "_ctx_" + context, batch / s);
      }
    }
    f.put("num_gpu_blocks", (double) p.numGpuBlocks());
    f.put("kv_cache_tokens", (double) p.numGpuBlocks() * p.blockSize());
    return f;
  }

  public static void main(String[] args) {
    String[] ids = args.length > 0 ? args : Profiles.SHIPPED.toArray(String[]::new);
    for (String id : ids) {
      Profile p = Profiles.load(id);
      System.out.println("# " + p.id() + " — " + p.description());
      figures(p).forEach((k, v) -> System.out.printf(Locale.ROOT, "%-40s %12.1f%n", k, v));
    }
  }
}
