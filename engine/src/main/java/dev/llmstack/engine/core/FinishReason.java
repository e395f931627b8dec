package dev.llmstack.engine.core;

/** Why a sequence stopped, with vLLM's wire names. */
public enum FinishReason {
  STOP("stop"),
  LENGTH("length"),
  ABORT("abort"),
  ERROR("error");

  private final String wire;

  FinishReason(String wire) {
    this.wire = wire;
  }

  /** The value of {@code finish_reason} and of the {@code finished_reason} metric label. */
  public String wire() {
    return wire;
  }
}
