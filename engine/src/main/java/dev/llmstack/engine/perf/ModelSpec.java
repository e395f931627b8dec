package dev.llmstack.engine.perf;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A transformer's shape, as its HuggingFace {@code config.json} gives it, plus the data types it is
 * served with.
 *
 * @param name the served model name the engine reports by default, e.g. {@code
 *     meta-llama/Llama-3.1-8B-Instruct}
 * @param parameters total parameter count (embeddings included)
 * @param layers {@code num_hidden_layers}
 * @param hiddenSize {@code hidden_size}
 * @param attentionHeads {@code num_attention_heads}
 * @param kvHeads {@code num_key_value_heads} (grouped-query attention)
 * @param headDim {@code head_dim} (hidden size / heads when the config has none)
 * @param vocabSize {@code vocab_size}
 * @param weightBytes bytes per weight: 2 for BF16, 1 for FP8
 * @param kvBytes bytes per KV-cache element: 2 for BF16, 1 for an FP8 KV cache
 * @param maxModelLen the context length served ({@code max_model_len})
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

  public ModelSpec {
    Check.present(name, "model.name");
    Check.positive(parameters, "model.parameters");
    Check.positive(layers, "model.layers");
    Check.positive(hiddenSize, "model.hidden_size");
    Check.positive(attentionHeads, "model.attention_heads");
    Check.positive(kvHeads, "model.kv_heads");
    Check.positive(headDim, "model.head_dim");
    Check.positive(vocabSize, "model.vocab_size");
    Check.positive(weightBytes, "model.weight_bytes");
    Check.positive(kvBytes, "model.kv_bytes");
    Check.positive(maxModelLen, "model.max_model_len");
    if (kvHeads > attentionHeads) {
      throw new IllegalArgumentException(
          "model.kv_heads ("
              + kvHeads
              + ") exceeds model.attention_heads ("
              + attentionHeads
              + ")");
    }
  }

  /**
   * KV-cache bytes one token occupies over all layers: 2 (K and V) x layers x kv heads x head dim x
   * dtype bytes. Llama-3.1-8B in BF16: 2 x 32 x 8 x 128 x 2 = 131,072 (128 KiB).
   */
  public double kvBytesPerToken() {
    return 2.0 * layers * kvHeads * headDim * kvBytes;
  }

  /** Bytes of all weights: parameters x bytes per weight (Llama-3.1-8B in BF16: 16.06 GB). */
  public double weightBytesTotal() {
    return parameters * weightBytes;
  }
}
