package dev.llmstack.protocol.metrics;

import java.util.ArrayList;
import java.util.List;

/**
 * vLLM's Prometheus metric names as scraped (V1 engine; older names where vLLM renamed one). The
 * simulated engine exports them; the router's scraper reads them, accepting old and new.
 */
public final class VllmMetricNames {

  private VllmMetricNames() {}

  /** Label on every engine series: the served model name. */
  public static final String LABEL_MODEL_NAME = "model_name";

  /** Label on every engine series: the engine index as a string ("0" for the first). */
  public static final String LABEL_ENGINE = "engine";

  /** Extra label of {@link #REQUEST_SUCCESS}: stop, length, abort or error. */
  public static final String LABEL_FINISHED_REASON = "finished_reason";

  public static final String NUM_REQUESTS_RUNNING = "vllm:num_requests_running";
  public static final String NUM_REQUESTS_WAITING = "vllm:num_requests_waiting";
  public static final String KV_CACHE_USAGE = "vllm:kv_cache_usage_perc";

  /** Deprecated in 0.9 for {@link #KV_CACHE_USAGE}. */
  public static final String GPU_CACHE_USAGE_OLD = "vllm:gpu_cache_usage_perc";

  public static final String PREFIX_CACHE_QUERIES = "vllm:prefix_cache_queries_total";
  public static final String PREFIX_CACHE_HITS = "vllm:prefix_cache_hits_total";
  public static final String GPU_PREFIX_CACHE_QUERIES_OLD = "vllm:gpu_prefix_cache_queries_total";
  public static final String GPU_PREFIX_CACHE_HITS_OLD = "vllm:gpu_prefix_cache_hits_total";
  public static final String NUM_PREEMPTIONS = "vllm:num_preemptions_total";
  public static final String PROMPT_TOKENS = "vllm:prompt_tokens_total";
  public static final String GENERATION_TOKENS = "vllm:generation_tokens_total";
  public static final String REQUEST_SUCCESS = "vllm:request_success_total";
  public static final String TIME_TO_FIRST_TOKEN = "vllm:time_to_first_token_seconds";
  public static final String INTER_TOKEN_LATENCY = "vllm:inter_token_latency_seconds";

  /** The pre-0.11 name of the inter-token gap histogram. */
  public static final String TIME_PER_OUTPUT_TOKEN_OLD = "vllm:time_per_output_token_seconds";

  public static final String REQUEST_TIME_PER_OUTPUT_TOKEN =
      "vllm:request_time_per_output_token_seconds";
  public static final String E2E_REQUEST_LATENCY = "vllm:e2e_request_latency_seconds";
  public static final String REQUEST_QUEUE_TIME = "vllm:request_queue_time_seconds";
  public static final String REQUEST_INFERENCE_TIME = "vllm:request_inference_time_seconds";
  public static final String REQUEST_PREFILL_TIME = "vllm:request_prefill_time_seconds";
  public static final String REQUEST_DECODE_TIME = "vllm:request_decode_time_seconds";
  public static final String REQUEST_PROMPT_TOKENS = "vllm:request_prompt_tokens";
  public static final String REQUEST_GENERATION_TOKENS = "vllm:request_generation_tokens";
  public static final String REQUEST_PARAMS_MAX_TOKENS = "vllm:request_params_max_tokens";

  /**
   * A histogram despite the suffix: vLLM names it so, and its samples are {@code
   * vllm:iteration_tokens_total_bucket}, {@code _sum} and {@code _count}.
   */
  public static final String ITERATION_TOKENS = "vllm:iteration_tokens_total";

  public static final String CACHE_CONFIG_INFO = "vllm:cache_config_info";

  // Bucket bounds are copied out on each call so no caller can change another's buckets.

  private static final double[] TTFT_BUCKETS = {
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0
  };

  private static final double[] INTER_TOKEN_BUCKETS = {
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
    40.0, 80.0
  };

  private static final double[] REQUEST_LATENCY_BUCKETS = {
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
    480.0, 960.0, 1920.0, 7680.0
  };

  private static final double[] ITERATION_TOKEN_BUCKETS = {
    1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384
  };

  /** Buckets of vllm:time_to_first_token_seconds. */
  public static double[] ttftBuckets() {
    return TTFT_BUCKETS.clone();
  }

  /**
   * Buckets of vllm:inter_token_latency_seconds, vllm:time_per_output_token_seconds and
   * vllm:request_time_per_output_token_seconds.
   */
  public static double[] interTokenBuckets() {
    return INTER_TOKEN_BUCKETS.clone();
  }

  /** Buckets of the request latency histograms (e2e, queue, inference, prefill, decode). */
  public static double[] requestLatencyBuckets() {
    return REQUEST_LATENCY_BUCKETS.clone();
  }

  /** Buckets of vllm:iteration_tokens_total. */
  public static double[] iterationTokenBuckets() {
    return ITERATION_TOKEN_BUCKETS.clone();
  }

  /**
   * vLLM's 1-2-5 buckets up to and including {@code max} (its max_model_len): 1, 2, 5, 10, 20, 50,
   * ... Used by vllm:request_prompt_tokens, vllm:request_generation_tokens and
   * vllm:request_params_max_tokens.
   */
  public static double[] oneTwoFiveBuckets(long max) {
    List<Double> out = new ArrayList<>();
    for (long decade = 1; decade <= max; decade *= 10) {
      for (int m : new int[] {1, 2, 5}) {
        if (m * decade > max) {
          break;
        }
        out.add((double) (m * decade));
      }
      if (decade > Long.MAX_VALUE / 50) {
        break; // the next decade would overflow
      }
    }
    return out.stream().mapToDouble(Double::doubleValue).toArray();
  }
}
