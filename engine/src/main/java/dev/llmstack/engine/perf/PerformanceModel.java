package dev.llmstack.engine.perf;

/** Predicts how long one scheduler step takes on the modelled GPU(s). */
public interface PerformanceModel {

  /** Duration of a step computing {@code shape}, in nanoseconds; 0 for an empty batch. */
  long stepNanos(BatchShape shape);
}
