package dev.llmstack.router.discovery;

/**
 * Where engines come from: a fixed list, a config file, Kubernetes. A source reports the full
 * current set whenever it changes; the router diffs it against what it has.
 */
public interface EndpointSource extends AutoCloseable {

  /** Receives the complete set of endpoints after every change. */
  @FunctionalInterface
  interface Listener {
    void onEndpoints(java.util.Set<Endpoint> endpoints);
  }

  /** Starts reporting; the first report may arrive before this returns. */
  void start(Listener listener) throws Exception;

  /** A short description for logs. */
  String describe();

  @Override
  default void close() {}
}
