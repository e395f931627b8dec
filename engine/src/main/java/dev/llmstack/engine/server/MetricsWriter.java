package dev.llmstack.engine.server;

import java.io.IOException;
import java.io.OutputStream;

/** Writes the engine's Prometheus exposition for GET /metrics. */
public interface MetricsWriter {
  void writeTo(OutputStream out) throws IOException;

  String contentType();
}
