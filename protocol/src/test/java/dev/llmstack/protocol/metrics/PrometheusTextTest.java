package dev.llmstack.protocol.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PrometheusTextTest {

  @Test
  void sumsSamplesOverLabelsAndSkipsOthers() {
    String text =
        """
        # HELP vllm:num_requests_running Number of requests in model execution batches.
        # TYPE vllm:num_requests_running gauge
        vllm:num_requests_running{engine="0",model_name="m"} 3.0
        vllm:num_requests_running{engine="1",model_name="m"} 2.0
        vllm:num_requests_waiting{engine="0",model_name="a \\"quoted} name"} 7 1700000000000
        vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.25
        vllm:num_requests_running_extra 99
        vllm:prefix_cache_hits_total{engine="0",model_name="m"} NaN
        """;
    Map<String, Double> m =
        PrometheusText.sums(
            text,
            Set.of(
                "vllm:num_requests_running",
                "vllm:num_requests_waiting",
                "vllm:gpu_cache_usage_perc",
                "vllm:prefix_cache_hits_total"));
    assertThat(m)
        .containsEntry("vllm:num_requests_running", 5.0)
        .containsEntry("vllm:num_requests_waiting", 7.0)
        .containsEntry("vllm:gpu_cache_usage_perc", 0.25)
        .doesNotContainKey("vllm:prefix_cache_hits_total");
  }

  @Test
  void readsALabelOfAnInfoMetric() {
    String text =
        """
        # HELP vllm:cache_config_info Information of the LLMEngine CacheConfig
        # TYPE vllm:cache_config_info gauge
        vllm:cache_config_info{block_size="16",cache_dtype="auto",num_gpu_blocks="27910",xnum_gpu_blocks="1"} 1.0
        vllm:num_requests_running{model_name="m"} 3.0
        """;
    org.assertj.core.api.Assertions.assertThat(
            PrometheusText.label(text, "vllm:cache_config_info", "num_gpu_blocks"))
        .isEqualTo("27910");
    org.assertj.core.api.Assertions.assertThat(
            PrometheusText.label(text, "vllm:cache_config_info", "block_size"))
        .isEqualTo("16");
    org.assertj.core.api.Assertions.assertThat(
            PrometheusText.label(text, "vllm:cache_config_info", "swap_space"))
        .isNull();
    org.assertj.core.api.Assertions.assertThat(
            PrometheusText.label(text, "vllm:lora_requests_info", "max_lora"))
        .isNull();
  }

  @Test
  void aLabelValueMayHoldBracesCommasAndEscapedQuotes() {
    String text = "x_info{path=\"/a},b\",name=\"say \\\"hi\\\"\",n=\"7\"} 1\n";
    assertThat(PrometheusText.label(text, "x_info", "path")).isEqualTo("/a},b");
    assertThat(PrometheusText.label(text, "x_info", "name")).isEqualTo("say \"hi\"");
    assertThat(PrometheusText.label(text, "x_info", "n")).isEqualTo("7");
  }

  @Test
  void newestLabelsPicksTheLatestTimestampedLabelSet() {
    String text =
        "# HELP vllm:lora_requests_info Running stats on lora requests.\n"
            + "# TYPE vllm:lora_requests_info gauge\n"
            + "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"a\","
            + "waiting_lora_adapters=\"\"} 1.7e9\n"
            + "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"a,b\","
            + "waiting_lora_adapters=\"c\"} 1.700000005e9\n"
            + "vllm:num_requests_running{model_name=\"m\"} 3\n";
    java.util.Map<String, String> labels =
        PrometheusText.newestLabels(text, "vllm:lora_requests_info");
    assertThat(labels)
        .containsEntry("max_lora", "2")
        .containsEntry("running_lora_adapters", "a,b")
        .containsEntry("waiting_lora_adapters", "c");
    assertThat(PrometheusText.newestLabels(text, "vllm:nope")).isNull();
  }
}
