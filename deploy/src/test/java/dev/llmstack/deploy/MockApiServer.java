package dev.llmstack.deploy;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.util.HashMap;
import java.util.logging.Logger;

/**
 * fabric8's Kubernetes mock API server in CRUD mode over plain HTTP, with one client. Managed by
 * hand rather than by {@code @EnableKubernetesMockClient} for its shutdown: the mock web server
 * waits a few seconds for informers' watch connections to end and then throws, failing a test that
 * had passed; here the client closes first and a slow shutdown is only logged.
 */
public final class MockApiServer implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(MockApiServer.class.getName());

  private final KubernetesMockServer server;
  private final KubernetesClient client;

  public MockApiServer() {
    server =
        new KubernetesMockServer(
            new Context(),
            new MockWebServer(),
            new HashMap<>(),
            new KubernetesCrudDispatcher(),
            false);
    server.init();
    client = server.createClient();
  }

  public KubernetesClient client() {
    return client;
  }

  /** The API server's URL, for clients built elsewhere (the router builds its own). */
  public String url() {
    return client.getMasterUrl().toString();
  }

  @Override
  public void close() {
    client.close();
    try {
      server.destroy();
    } catch (IllegalStateException e) {
      LOG.info("mock API server shut down slowly: " + e.getMessage());
    }
  }
}
