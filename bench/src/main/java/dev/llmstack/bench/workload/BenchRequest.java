package dev.llmstack.bench.workload;

/**
 * One request a workload wants sent.
 *
 * @param user the conversation or user it belongs to (the session key), or null
 * @param sendAtNanos when it should be sent, from the start of the run: latency is measured from
 *     this intended time, not from when the client managed to send it (no coordinated omission)
 * @param maxTokens output tokens asked for; sent with ignore_eos so the length is exact
 * @param lora the LoRA adapter to ask for (sent as the model name), or null for the base model
 */
public record BenchRequest(
    String id, String user, long sendAtNanos, Prompt prompt, int maxTokens, String lora) {

  public BenchRequest(String id, String user, long sendAtNanos, Prompt prompt, int maxTokens) {
    this(id, user, sendAtNanos, prompt, maxTokens, null);
  }

  public BenchRequest withLora(String adapter) {
    return new BenchRequest(id, user, sendAtNanos, prompt, maxTokens, adapter);
  }
}
