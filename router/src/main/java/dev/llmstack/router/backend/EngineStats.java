package dev.llmstack.router.backend;

/**
 * What the last scrape of an engine's /metrics said.
 *
 * @param kvUsage 0..1, from vllm:kv_cache_usage_perc (or the older vllm:gpu_cache_usage_perc)
 * @param scrapedAtNanos System.nanoTime() of the scrape; 0 when never scraped
 */
public record EngineStats(
    double running,
    double waiting,
    double kvUsage,
    double prefixQueries,
    double prefixHits,
    long scrapedAtNanos) {

  public static final EngineStats NONE = new EngineStats(0, 0, 0, 0, 0, 0);
}
