package dev.llmstack.bench.workload;

import java.util.SplittableRandom;

/**
 * Open-loop synthetic traffic: Poisson arrivals at {@code qps}; prompt and output lengths drawn
 * from log-normal distributions (ShareGPT's lengths are close to log-normal; the defaults give
 * medians of 600 and 200 tokens); with probability {@code prefixRepeat} a prompt starts with one of
 * {@code prefixes} shared prefixes of {@code prefixTokens} tokens, the knob for how much cache
 * reuse the traffic offers.
 */
public final class SyntheticWorkload implements Workload {

  /** The workload's knobs. */
  public record Params(
      int requests,
      double qps,
      double inputMedian,
      double inputSigma,
      double outputMedian,
      double outputSigma,
      int maxInput,
      int maxOutput,
      double prefixRepeat,
      int prefixes,
      int prefixTokens,
      long seed) {

    public static final Params DEFAULT =
        new Params(500, 10, 600, 0.9, 200, 0.8, 8000, 1000, 0.5, 8, 1024, 42);

    public Params {
      if (requests <= 0) {
        throw new IllegalArgumentException("requests must be positive");
      }
      if (!(qps > 0)) {
        throw new IllegalArgumentException("qps must be positive, got " + qps);
      }
      if (prefixRepeat < 0 || prefixRepeat > 1) {
        throw new IllegalArgumentException("prefix repeat is a probability in [0, 1]");
      }
      if (inputMedian < 1 || outputMedian < 1 || maxInput < 1 || maxOutput < 1 || prefixes < 1) {
        throw new IllegalArgumentException("lengths and counts must be positive");
      }
    }
  }

  private static final long PREFIX_SEED = 0x5052454649580000L;
  private static final long UNIQUE_SEED = 0x554E495155450000L;

  private final Params p;

  public SyntheticWorkload(Params p) {
    this.p = p;
  }

  @Override
  public String name() {
    return "synthetic";
  }

  @Override
  public int expectedRequests() {
    return p.requests();
  }

  @Override
  public void start(Dispatch dispatch) {
    SplittableRandom r = new SplittableRandom(p.seed());
    double t = 0;
    for (int i = 0; i < p.requests(); i++) {
      t += -Math.log(1 - r.nextDouble()) / p.qps();
      int input = logNormal(r, p.inputMedian(), p.inputSigma(), p.maxInput());
      int output = logNormal(r, p.outputMedian(), p.outputSigma(), p.maxOutput());
      Prompt.Runs prompt;
      String user = null;
      if (r.nextDouble() < p.prefixRepeat()) {
        int which = r.nextInt(p.prefixes());
        int unique = Math.max(1, input - p.prefixTokens());
        prompt =
            new Prompt.Runs(
                new long[] {PREFIX_SEED + which, UNIQUE_SEED + i},
                new int[] {p.prefixTokens(), unique});
        user = "prefix-" + which;
      } else {
        prompt = new Prompt.Runs(new long[] {UNIQUE_SEED + i}, new int[] {input});
      }
      dispatch.submit(new BenchRequest("syn-" + i, user, Math.round(t * 1e9), prompt, output));
    }
  }

  private static int logNormal(SplittableRandom r, double median, double sigma, int max) {
    double z = gaussian(r);
    return (int) Math.max(1, Math.min(max, Math.round(median * Math.exp(sigma * z))));
  }

  private static double gaussian(SplittableRandom r) {
    double u1 = 1 - r.nextDouble();
    double u2 = r.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
