package dev.llmstack.app;

import dev.llmstack.router.routing.CostWeights;
import picocli.CommandLine.Option;

/** The cache-aware cost model's weights, shared by the router's commands and the twin. */
final class CostWeightOptions {

  @Option(
      names = "--cost-load-tokens",
      defaultValue = "256",
      description =
          "Cost model: prefill tokens one queued or in-flight request is worth"
              + " (default: ${DEFAULT-VALUE}).")
  double loadTokens;

  @Option(
      names = "--min-hit-ratio",
      defaultValue = "0.5",
      description =
          "Cost model: hits under this share of the prompt are not credited"
              + " (default: ${DEFAULT-VALUE}).")
  double minHitRatio;

  @Option(
      names = "--pending-prefill-weight",
      defaultValue = "1.0",
      description =
          "Cost model: weight of the prefill tokens already queued at an engine"
              + " (default: ${DEFAULT-VALUE}).")
  double pendingPrefillWeight;

  @Option(
      names = "--cpu-hit-weight",
      defaultValue = "0.8",
      description =
          "Cost model: share of a recompute a block cached in CPU memory saves"
              + " (default: ${DEFAULT-VALUE}).")
  double cpuHitWeight;

  @Option(
      names = "--lora-wait-weight",
      defaultValue = "1.0",
      description =
          "Cost model: for a LoRA request at an engine whose adapter slots other adapters hold, how"
              + " many times the engine's load it waits behind (0: ignore slots;"
              + " default: ${DEFAULT-VALUE}).")
  double loraWaitWeight;

  CostWeights weights() {
    return new CostWeights(
        loadTokens, minHitRatio, pendingPrefillWeight, cpuHitWeight, loraWaitWeight);
  }
}
