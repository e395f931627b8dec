package dev.llmstack.engine.core;

import dev.llmstack.protocol.kvevents.KvEvent;
import java.util.List;

/**
 * Sees what the engine does, for metrics and KV events. Called on the scheduler thread;
 * implementations must be cheap and never block. Times are engine time in nanoseconds.
 */
public interface EngineObserver {

  /** A step ended: queue state after it and the tokens it computed. */
  default void onStep(int running, int waiting, double kvUsage, int tokensInStep) {}

  /**
   * The queues changed outside a step (a request aborted): their state now, so gauges do not keep
   * counting a request that is gone while the engine sits idle.
   */
  default void onQueueState(int running, int waiting, double kvUsage) {}

  /** A sequence was looked up in the prefix cache: tokens queried and tokens hit. */
  default void onPrefixLookup(long queryTokens, long hitTokens) {}

  /**
   * A step ended on an engine with LoRA enabled: the adapters its running batch and its waiting
   * queue use (vllm:lora_requests_info).
   */
  default void onLoras(List<String> running, List<String> waiting) {}

  /** Whether {@link #onLoras} is wanted: listing the adapters costs a pass over both queues. */
  default boolean tracksLoras() {
    return false;
  }

  default void onPreemption() {}

  default void onFirstToken(Sequence seq, long ttftNanos) {}

  default void onInterToken(long gapNanos) {}

  default void onFinished(Sequence seq, FinishReason reason) {}

  /** The prefix-cache changes of one step, in order. */
  default void onKvEvents(List<KvEvent> events, long nanos) {}

  EngineObserver NONE = new EngineObserver() {};
}
