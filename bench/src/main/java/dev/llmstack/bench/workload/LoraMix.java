package dev.llmstack.bench.workload;

import dev.llmstack.bench.runner.RequestRecord;

/**
 * Spreads a workload's users over LoRA adapters {@code lora-0 .. lora-(n-1)}, the way a
 * multi-tenant deployment serves one fine-tune per customer: every request of a user (a
 * conversation, a trace session) names that user's adapter. Popularity is skewed like real tenants:
 * adapter k gets a share of users close to 1/(k+1) (log-uniform), so a few adapters are hot and
 * many are cold.
 */
public final class LoraMix implements Workload {

  private final Workload inner;
  private final int adapters;

  public LoraMix(Workload inner, int adapters) {
    if (adapters < 1) {
      throw new IllegalArgumentException("--loras must be at least 1");
    }
    this.inner = inner;
    this.adapters = adapters;
  }

  /** The adapter of a user (or of a request without one), deterministic across runs. */
  public String adapterOf(String key) {
    // A well-mixed 53-bit fraction u in [0, 1): index floor((n + 1)^u) - 1 is log-uniform.
    long h = mix(key == null ? 0 : key.hashCode());
    double u = (h >>> 11) * 0x1.0p-53;
    int k = (int) Math.floor(Math.pow(adapters + 1, u)) - 1;
    return "lora-" + Math.min(adapters - 1, Math.max(0, k));
  }

  private static long mix(long x) {
    x += 0x9E3779B97F4A7C15L;
    x = (x ^ (x >>> 30)) * 0xBF58476D1CE4E5B9L;
    x = (x ^ (x >>> 27)) * 0x94D049BB133111EBL;
    return x ^ (x >>> 31);
  }

  private Dispatch tagging(Dispatch dispatch) {
    return r -> dispatch.submit(r.withLora(adapterOf(r.user() != null ? r.user() : r.id())));
  }

  @Override
  public String name() {
    return inner.name() + "+" + adapters + "-loras";
  }

  @Override
  public void start(Dispatch dispatch) {
    inner.start(tagging(dispatch));
  }

  @Override
  public void completed(BenchRequest request, RequestRecord record, Dispatch dispatch) {
    inner.completed(request, record, tagging(dispatch));
  }

  @Override
  public int expectedRequests() {
    return inner.expectedRequests();
  }

  @Override
  public boolean needsAnswers() {
    return inner.needsAnswers();
  }
}
