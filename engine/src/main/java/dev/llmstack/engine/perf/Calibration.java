package dev.llmstack.engine.perf;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The figures docs/calibration.md compares with published vLLM measurements: TTFT and prefill
 * throughput of a lone prompt on an idle GPU, decode inter-token latency and throughput at batch 1,
 * 32 and 128, a saturated steady state, and the KV pool size; plus the published anchors themselves
 * ({@link #ANCHORS}) with the residual error of each.
 *
 * <p>Print everything as the Markdown the doc embeds:
 *
 * <pre>
 * java -cp app/target/llmstack.jar dev.llmstack.engine.perf.Calibration [profile-id-or-file...]
 * </pre>
 */
public final class Calibration {

  /**
   * Mean ShareGPT lengths of the vLLM v0.6.0 performance post's 500-prompt sample (202 prompt, 179
   * output tokens), used for the saturated steady state.
   */
  public static final double SHAREGPT_PROMPT = 202;

  public static final double SHAREGPT_OUTPUT = 179;

  private Calibration() {}

  /** How much weight a published figure carries. */
  public enum Kind {
    FITTED("measured; the efficiency factors were fitted to it"),
    CHECKED("measured with vLLM; not fitted, the model must land within 15%"),
    OTHER(
        "measured, but on an older vLLM (V0) or another engine, or a loose aggregate; not fitted"),
    ESTIMATE("roofline arithmetic, not a measurement");

    public final String meaning;

    Kind(String meaning) {
      this.meaning = meaning;
    }
  }

  /**
   * A published figure and how to compute its simulated counterpart.
   *
   * @param profile the profile it applies to
   * @param figure what is compared, with the workload shape
   * @param unit unit of {@code published} and of {@code simulated}
   * @param published the published value (for a range, its midpoint; {@code note} gives the range)
   * @param kind how much weight it carries
   * @param source where it was published: title, URL, date
   * @param note caveats
   * @param simulated computes the simulated value from a profile
   */
  public record Anchor(
      String profile,
      String figure,
      String unit,
      double published,
      Kind kind,
      String source,
      String note,
      ToDoubleFunction<Profile> simulated) {

    public double simulatedValue() {
      return simulated.applyAsDouble(Profiles.load(profile));
    }

    /** (simulated - published) / published. */
    public double error() {
      return (simulatedValue() - published) / published;
    }
  }

  /** Published figures, each with its source. docs/calibration.md prints them with residuals. */
  public static final List<Anchor> ANCHORS =
      List.of(
          new Anchor(
              "llama-3.1-8b@h100",
              "decode ITL, 1 concurrent request (short chat prompts; simulated at 512 tokens of"
                  + " context)",
              "ms",
              6.48,
              Kind.FITTED,
              "InferenceBench recipe \"concurrency sweep\", H100-80GB-HBM3, vLLM 0.21.0, fp16,"
                  + " 2026-05-16: tpot_p50 6.48 ms at conc 1 (yobitelcomm.github.io/bench/recipes/"
                  + "concurrency-sweep/)",
              "MBU and the step overhead are fitted to this and the A100 row",
              p -> decodeSeconds(p, 1, 512) * 1e3),
          new Anchor(
              "llama-3.1-8b@h100",
              "decode ITL, 4 concurrent requests (simulated at 512 tokens of context)",
              "ms",
              6.59,
              Kind.CHECKED,
              "same run: tpot_p50 6.59 ms at conc 4",
              "",
              p -> decodeSeconds(p, 4, 512) * 1e3),
          new Anchor(
              "llama-3.1-8b@h100",
              "decode step, 10 ShareGPT requests at once (mean 137 in / 187 out; simulated at"
                  + " batch 10, 230 tokens of context)",
              "ms",
              7.2,
              Kind.CHECKED,
              "LambdaLabsML/vllm-benchmark, results/prompt_10/1xH100-80GB-SXM/"
                  + "Meta-Llama-3-8B-Instruct_tp1_len2048.json, 2024-09-07: ITL 72.4 ms per"
                  + " 10-token burst (num-scheduler-steps 10), median TPOT 7.56 ms",
              "vLLM 0.6.0 (V0) with multi-step scheduling, which hides most host overhead;"
                  + " Llama-3-8B (same shape as 3.1)",
              p -> decodeSeconds(p, 10, 230) * 1e3),
          new Anchor(
              "llama-3.1-8b@a100-40gb",
              "decode ITL, 1 concurrent request, 1024 in / 128 out (simulated at 1088 tokens of"
                  + " context)",
              "ms",
              13.3,
              Kind.FITTED,
              "J. Musgrave, \"vLLM throughput-latency sweep on NVIDIA A100\""
                  + " (johnmusgrave.com/p/vllm-throughput-latency-sweep-on), vLLM 0.23.0, vllm"
                  + " bench serve: about 75 tok/s at concurrency 1",
              "MBU fitted to it",
              p -> decodeSeconds(p, 1, 1088) * 1e3),
          new Anchor(
              "llama-3.1-8b@h100",
              "prefill throughput, 8192-token prompts back to back",
              "tok/s",
              27_670,
              Kind.FITTED,
              "sgl-project/sglang PR #1060 (2024-08-13), sglang.bench_serving random 8192 in / 8"
                  + " out, 1000 prompts, Meta-Llama-3.1-8B-Instruct: input throughput 27,670 tok/s",
              "SGLang, not vLLM (both run FlashInfer/FA3 attention and cuBLAS GEMMs); the PR is"
                  + " about H100s but the run does not name its GPU. MFU fitted to it",
              p -> 8192 / prefillSeconds(p, 8192)),
          new Anchor(
              "llama-3.1-8b@h100",
              "saturated ShareGPT, 256 running sequences: output throughput",
              "tok/s",
              8_088,
              Kind.OTHER,
              "LambdaLabsML/vllm-benchmark, benchmark_v0.md (Sept 2024): v0.6.0, num-scheduler-steps"
                  + " 10, 5000 prompts, rps inf, max-num-seqs 256: 8,088 output tok/s, median TPOT"
                  + " 25.57 ms",
              "vLLM 0.6.0 (V0) without chunked prefill, Sept 2024; the same run without"
                  + " multi-step gave 3,958 tok/s. The model is fitted to current-vLLM latency and"
                  + " prefill figures and lands above this row; no steady-state measurement of a"
                  + " current vLLM was found to settle it",
              p -> steadyState(p, 256, SHAREGPT_PROMPT, SHAREGPT_OUTPUT).outputTokensPerSecond()),
          new Anchor(
              "llama-3.1-8b@h100",
              "saturated, high concurrency: output throughput (workload not stated; simulated as"
                  + " ShareGPT at 256 sequences)",
              "tok/s",
              12_500,
              Kind.OTHER,
              "morphllm.com \"vLLM Benchmarks\" (2026-04-05): ~12,500 tok/s Llama 3.1 8B BF16 on 1x"
                  + " H100, FlashInfer, 0.8 GPU util (aggregate of third-party runs)",
              "loose: workload and batch unknown",
              p -> steadyState(p, 256, SHAREGPT_PROMPT, SHAREGPT_OUTPUT).outputTokensPerSecond()),
          new Anchor(
              "llama-3.1-8b@h100",
              "prefill throughput, lone 1024-token prompt",
              "tok/s",
              35_000,
              Kind.ESTIMATE,
              "shared/vllm-interfaces.md section 8: 16 GFLOP/token at 50-60% MFU",
              "range 30-40k tok/s; ignores attention FLOPs and host overhead",
              p -> 1024 / prefillSeconds(p, 1024)),
          new Anchor(
              "llama-3.1-70b@4xh100",
              "saturated ShareGPT, 256 running sequences: output throughput",
              "tok/s",
              3_543,
              Kind.OTHER,
              "LambdaLabsML/vllm-benchmark, benchmark_v0.md (Sept 2024): v0.6.0, tp 4,"
                  + " num-scheduler-steps 10, 5000 prompts, max-num-seqs 256: 3,543 output tok/s,"
                  + " median TPOT 61.10 ms",
              "vLLM 0.6.0 V0, as above",
              p -> steadyState(p, 256, SHAREGPT_PROMPT, SHAREGPT_OUTPUT).outputTokensPerSecond()),
          new Anchor(
              "llama-3.1-70b@4xh100",
              "decode ITL, batch 1, 1024 tokens of context",
              "ms",
              20,
              Kind.ESTIMATE,
              "shared/vllm-interfaces.md section 8: 35 GB per GPU, 10.5 ms floor",
              "range 15-25 ms",
              p -> decodeSeconds(p, 1, 1024) * 1e3),
          new Anchor(
              "llama-3.1-70b@4xh100",
              "prefill throughput, lone 1024-token prompt",
              "tok/s",
              6_000,
              Kind.ESTIMATE,
              "shared/vllm-interfaces.md section 8",
              "range 4-8k tok/s; at the same 50% MFU as the 8B the arithmetic gives about 2x that"
                  + " (141 GFLOP/token over 4 GPUs)",
              p -> 1024 / prefillSeconds(p, 1024)));

  /**
   * Seconds until the first token of one {@code tokens}-token prompt on an idle engine: its prefill
   * steps, in chunks of the profile's token budget.
   */
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

  /**
   * A saturated engine in steady state.
   *
   * @param stepSeconds duration of each step, which is also every sequence's inter-token latency
   * @param outputTokensPerSecond tokens generated per second over all sequences
   * @param prefillTokensPerStep prompt tokens computed in each step to replace finished sequences
   */
  public record SteadyState(
      double stepSeconds, double outputTokensPerSecond, double prefillTokensPerStep) {}

  /**
   * The step a saturated engine repeats with chunked prefill: {@code seqs} sequences decode one
   * token each while the prompts of the sequences that replace finished ones (seqs / meanOutput per
   * step) are prefilled in the same step. Contexts average {@code meanPrompt + meanOutput / 2}.
   */
  public static SteadyState steadyState(Profile p, int seqs, double meanPrompt, double meanOutput) {
    double prefill =
        Math.max(0, Math.min(seqs * meanPrompt / meanOutput, p.maxNumBatchedTokens() - seqs));
    double promptsPerStep = prefill / meanPrompt;
    double attention = promptsPerStep * meanPrompt * meanPrompt / 2;
    long context = (long) (seqs * (meanPrompt + meanOutput / 2));
    BatchShape shape = new BatchShape((long) prefill, attention, seqs, context, (long) prefill);
    double step = new RooflineModel(p).stepNanos(shape) / 1e9;
    return new SteadyState(step, seqs / step, prefill);
  }

  /** Every figure of the calibration table for one profile, keyed by a stable name. */
  public static Map<String, Double> figures(Profile p) {
    Map<String, Double> f = new LinkedHashMap<>();
    for (int prompt : new int[] {1024, 4096, 8192}) {
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
    SteadyState sat = steadyState(p, 256, SHAREGPT_PROMPT, SHAREGPT_OUTPUT);
    f.put("sharegpt_256_seqs_itl_ms", sat.stepSeconds() * 1000);
    f.put("sharegpt_256_seqs_output_tokens_per_s", sat.outputTokensPerSecond());
    f.put("num_gpu_blocks", (double) p.numGpuBlocks());
    f.put("kv_cache_tokens", (double) p.numGpuBlocks() * p.blockSize());
    return f;
  }

  /**
   * Prints the figures of the given profiles (default: all shipped) as one Markdown table, a column
   * per profile, then the anchors with their residual errors and sources.
   */
  public static void main(String[] args) {
    List<Profile> profiles =
        (args.length > 0 ? List.of(args) : Profiles.available())
            .stream().map(Profiles::load).toList();
    StringBuilder out = new StringBuilder("| figure |");
    StringBuilder rule = new StringBuilder("|---|");
    List<Map<String, Double>> columns = new ArrayList<>();
    for (Profile p : profiles) {
      out.append(' ').append(p.id()).append(" |");
      rule.append("---:|");
      columns.add(figures(p));
    }
    out.append('\n').append(rule).append('\n');
    for (String key : columns.get(0).keySet()) {
      out.append("| ").append(key).append(" |");
      for (Map<String, Double> c : columns) {
        out.append(' ').append(number(c.get(key))).append(" |");
      }
      out.append('\n');
    }
    out.append("\n| # | profile | figure | simulated | published | error | kind |\n")
        .append("|---|---|---|---:|---:|---:|---|\n");
    int n = 0;
    for (Anchor a : ANCHORS) {
      out.append(
          String.format(
              Locale.ROOT,
              "| %d | %s | %s | %s %s | %s %s | %+.0f%% | %s |%n",
              ++n,
              a.profile(),
              a.figure(),
              number(a.simulatedValue()),
              a.unit(),
              number(a.published()),
              a.unit(),
              a.error() * 100,
              a.kind().name().toLowerCase(Locale.ROOT)));
    }
    out.append('\n');
    n = 0;
    for (Anchor a : ANCHORS) {
      out.append(++n).append(". ").append(a.source());
      if (!a.note().isEmpty()) {
        out.append(". ").append(a.note());
      }
      out.append(".\n");
    }
    System.out.print(out);
  }

  /** Two decimals for small figures (milliseconds), none for large ones (tokens/s, blocks). */
  private static String number(double v) {
    return String.format(Locale.ROOT, Math.abs(v) < 100 ? "%,.2f" : "%,.0f", v);
  }
}
