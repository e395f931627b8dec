package dev.llmstack.router.stats;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.llmstack.router.backend.Backend;
import dev.llmstack.router.backend.OutlierPolicy;
import dev.llmstack.router.discovery.Endpoint;
import dev.llmstack.router.threads.BackgroundThreads;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The model list an engine serves, as the monitor keeps reading it (adapters come and go). */
class EngineMonitorModelsTest {

  private final AtomicReference<String> models = new AtomicReference<>(list("base"));
  private HttpServer engine;
  private EngineMonitor monitor;

  private static String list(String... ids) {
    StringBuilder sb = new StringBuilder("{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < ids.length; i++) {
      sb.append(i == 0 ? "" : ",").append("{\"id\":\"").append(ids[i]).append("\"}");
    }
    return sb.append("]}").toString();
  }

  @BeforeEach
  void start() throws IOException {
    engine = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    engine.createContext("/health", ex -> reply(ex, ""));
    engine.createContext("/v1/models", ex -> reply(ex, models.get()));
    engine.createContext("/metrics", ex -> reply(ex, "vllm:num_requests_running 0\n"));
    engine.start();
    monitor =
        new EngineMonitor(new EngineMonitor.Settings(50, 60_000, 1_000), BackgroundThreads.IDLE);
  }

  @AfterEach
  void stop() {
    monitor.close();
    engine.stop(0);
  }

  private static void reply(HttpExchange ex, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(200, b.length == 0 ? -1 : b.length);
    ex.getResponseBody().write(b);
    ex.close();
  }

  private Backend backend() {
    return new Backend(
        Endpoint.parse("http://127.0.0.1:" + engine.getAddress().getPort()), OutlierPolicy.DEFAULT);
  }

  private static void await(Backend b, Set<String> expected) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!b.models().equals(expected) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(b.models()).isEqualTo(expected);
  }

  @Test
  void aChangedListIsReadAgainAndAnEngineAddedAgainLearnsItsModels() throws Exception {
    Backend b = backend();
    monitor.watch(b);
    await(b, Set.of("base"));
    models.set(list("base", "sql-lora"));
    await(b, Set.of("base", "sql-lora"));
    models.set(list("base"));
    await(b, Set.of("base"));

    // Removed and added again under the same id, with the list unchanged since: the new backend
    // object still learns its models (the unchanged body is not skipped for it).
    monitor.unwatch(b);
    Backend again = backend();
    monitor.watch(again);
    await(again, Set.of("base"));
  }
}
