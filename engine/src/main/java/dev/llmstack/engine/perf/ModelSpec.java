package dev.llmstack.engine.perf;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A transformer's shape, as its HuggingFace config.json gives it.
 *
 * @param name the served model name engines report by default
 * @param weightBytes bytes per weight (2 for BF16, 1 for FP8)
 * @param kvBytes bytes per KV-cache element
 */
public record ModelSpec(
    String name,
    double parameters,
    int layers,
    @JsonProperty("hidden_size") int hiddenSize,
    @JsonProperty("attention_heads") int attentionHeads,
    @JsonProperty("kv_heads") int kvHeads,
    @JsonProperty("head_dim") int headDim,
    @JsonProperty("vocab_size") int vocabSize,
    @JsonProperty("weight_bytes") double weightBytes,
    @JsonProperty("kv_bytes") double kvBytes,
    @JsonProperty("max_model_len") int maxModelLen) {

  /**
   * KV-cache bytes one token occupies over all layers: 2 (K and V) x layers x kv heads x head dim x
   * dtype.
   */
  public double kvBytesPerToken() {
    return 2.0 * layers * kvHeads * headDim * kvBytes;
  }

  public double weightBytesTotal() {
    return parameters * weightBytes;
  }
}
