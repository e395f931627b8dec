package dev.llmstack.engine.core;

/**
 * Receives one sequence's output. Called on the engine's scheduler thread, so implementations hand
 * work off (e.g. to a Netty event loop) and never block.
 */
public interface SequenceListener {

  /**
   * A token was generated at engine time {@code nanos}; {@code text} is its decoded text. When it
   * is the last token, {@link Sequence#finishReason()} is already set; {@link #onFinish} follows.
   */
  void onToken(Sequence seq, int tokenId, String text, long nanos);

  /** The sequence ended; no more calls follow. */
  void onFinish(Sequence seq, FinishReason reason, long nanos);

  /** A listener that ignores everything (virtual-time runs that only need the timing). */
  SequenceListener NONE =
      new SequenceListener() {
        @Override
        public void onToken(Sequence seq, int tokenId, String text, long nanos) {}

        @Override
        public void onFinish(Sequence seq, FinishReason reason, long nanos) {}
      };
}
