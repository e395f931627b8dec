package dev.llmstack.bench.workload;

import dev.llmstack.bench.runner.RequestRecord;

/**
 * A source of benchmark requests, run the same way by the HTTP runner and the virtual-time twin.
 * Open-loop workloads submit everything up front; closed-loop ones submit a user's next request
 * when its previous answer arrives.
 */
public interface Workload {

  /** Takes requests to send. */
  interface Dispatch {
    void submit(BenchRequest request);
  }

  String name();

  /** Submits the first requests. */
  void start(Dispatch dispatch);

  /** A request finished (or failed); closed-loop workloads submit the user's next one here. */
  default void completed(BenchRequest request, RequestRecord record, Dispatch dispatch) {}

  /** Requests the run will send, for the progress bar. */
  int expectedRequests();

  /** Whether {@link #completed} needs the answer's text (kept only then, to save memory). */
  default boolean needsAnswers() {
    return false;
  }
}
