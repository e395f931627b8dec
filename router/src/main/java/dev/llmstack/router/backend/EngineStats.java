package dev.llmstack.router.backend;

/**
 * What the last scrape of an engine's /metrics said.
 *
 * @param kvUsage 0..1, from vllm:kv_cache_usage_perc (or the older vllm:gpu_cache_usage_perc)
 * @param scrapedAtNanos System.nanoTime() of the scrape; 0 when never scraped
 * @param maxLoras LoRA adapters one batch may use (vllm:lora_requests_info max_lora); 0 when the
 *     engine serves no adapters
 * @param runningLoras adapters in the engine's running batch at the scrape
 */
public record EngineStats(
    double running,
    double waiting,
    double kvUsage,
    double prefixQueries,
    double prefixHits,
    long scrapedAtNanos,
    int maxLoras,
    java.util.Set<String> runningLoras) {

  public static final EngineStats NONE = new EngineStats(0, 0, 0, 0, 0, 0);

  /** An engine without LoRA adapters. */
  public EngineStats(
      double running,
      double waiting,
      double kvUsage,
      double prefixQueries,
      double prefixHits,
      long scrapedAtNanos) {
    this(
        running,
        waiting,
        kvUsage,
        prefixQueries,
        prefixHits,
        scrapedAtNanos,
        0,
        java.util.Set.of());
  }
}
