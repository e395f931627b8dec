package dev.llmstack.router.it;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PromQlNamesTest {

  @Test
  void findsMetricsButNotFunctionsLabelsDurationsOrVariables() {
    assertThat(
            PromQlNames.of(
                "histogram_quantile(0.95, sum by (le, engine) (rate(llmstack_router_time_to_first_token_seconds_bucket{engine=~\"$engine\", model=~\"$model\"}[$__rate_interval])))"))
        .containsExactly("llmstack_router_time_to_first_token_seconds_bucket");
    assertThat(
            PromQlNames.of(
                "sum by (instance) (rate(vllm:prefix_cache_hits_total{model_name=~\"$model\"}[5m])) / sum without (engine) (rate(vllm:prefix_cache_queries_total[1m])) > bool 1e3"))
        .containsExactly("vllm:prefix_cache_hits_total", "vllm:prefix_cache_queries_total");
    assertThat(PromQlNames.of("a_total offset 5m and on (engine) group_left b unless c"))
        .containsExactly("a_total", "b", "c");
  }
}
