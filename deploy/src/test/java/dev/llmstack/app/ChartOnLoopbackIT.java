package dev.llmstack.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llmstack.deploy.ChartFixtures;
import dev.llmstack.deploy.MockApiServer;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.router.Router;
import dev.llmstack.router.RouterSettings;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The simulation-mode install, run for real on loopback: the chart's engine pods become simulated
 * engines started from the chart's own arguments (each on its own loopback address standing in for
 * its pod IP, at the chart's ports 8000, 5557 and 5558), and the router, started from the chart's
 * router arguments, discovers them through fabric8's mock API server, subscribes to their KV events
 * at the offsets the chart set, and routes a repeated prompt to the engine whose cache holds it.
 */
class ChartOnLoopbackIT {

  static final String VALUES = "simulation-values.yaml";
  static final List<String> POD_IPS = List.of("127.0.0.2", "127.0.0.3");
  static final List<String> PROPERTIES =
      List.of(
          Config.KUBERNETES_MASTER_SYSTEM_PROPERTY,
          Config.KUBERNETES_AUTH_TRYKUBECONFIG_SYSTEM_PROPERTY,
          Config.KUBERNETES_AUTH_TRYSERVICEACCOUNT_SYSTEM_PROPERTY,
          Config.KUBERNETES_TRUST_CERT_SYSTEM_PROPERTY);

  KubernetesClient client;
  final Map<String, String> savedProperties = new HashMap<>();

  @AfterEach
  void restoreProperties() {
    savedProperties.forEach(
        (k, v) -> {
          if (v == null) {
            System.clearProperty(k);
          } else {
            System.setProperty(k, v);
          }
        });
  }

  @Test
  void routerFromTheChartRoutesOnKvEventsOfEnginesFromTheChart() throws Exception {
    try (MockApiServer api = new MockApiServer()) {
      client = api.client();
      run();
    }
  }

  private void run() throws Exception {
    JsonNode pool = ChartFixtures.engineDeployments(VALUES).getFirst();
    JsonNode engineContainer = ChartFixtures.firstContainer(pool);
    List<String> engineArgs = ChartFixtures.args(engineContainer);
    String namespace = ChartFixtures.NAMESPACE;
    for (String ip : POD_IPS) {
      for (String port : List.of("http", "kv-events", "kv-replay")) {
        assumeThat(free(ip, ChartFixtures.containerPort(engineContainer, port)))
            .as("%s:%s free for the test", ip, port)
            .isTrue();
      }
    }

    // The router's own Kubernetes client (KubernetesClientBuilder defaults) finds the mock server.
    for (String p : PROPERTIES) {
      savedProperties.put(p, System.getProperty(p));
    }
    System.setProperty(Config.KUBERNETES_MASTER_SYSTEM_PROPERTY, client.getMasterUrl().toString());
    System.setProperty(Config.KUBERNETES_AUTH_TRYKUBECONFIG_SYSTEM_PROPERTY, "false");
    System.setProperty(Config.KUBERNETES_AUTH_TRYSERVICEACCOUNT_SYSTEM_PROPERTY, "false");
    System.setProperty(Config.KUBERNETES_TRUST_CERT_SYSTEM_PROPERTY, "true");

    List<SimulatedEngine> engines = new ArrayList<>();
    Router router = null;
    try {
      for (int i = 0; i < POD_IPS.size(); i++) {
        EngineCommand cmd = new EngineCommand();
        new CommandLine(cmd)
            .parseArgs(engineArgs.subList(1, engineArgs.size()).toArray(String[]::new));
        cmd.host = POD_IPS.get(i); // the pod IP; in the pod it binds 0.0.0.0
        cmd.timeScale = 20; // the test's only change of substance: faster than real time
        engines.add(SimulatedEngine.start(cmd.settings()));
        String name = ChartFixtures.name(pool) + "-" + i;
        client
            .pods()
            .inNamespace(namespace)
            .resource(ChartFixtures.pod(client, pool, name, namespace, POD_IPS.get(i), true))
            .create();
      }
      // The router's own pod matches the chart's labels too, but not the engine selector.
      JsonNode routerDeployment = ChartFixtures.routerDeployment(VALUES);
      client
          .pods()
          .inNamespace(namespace)
          .resource(
              ChartFixtures.pod(client, routerDeployment, "router-0", namespace, "127.0.0.4", true))
          .create();

      List<String> routerArgs = ChartFixtures.args(ChartFixtures.firstContainer(routerDeployment));
      RouterCommand rc = new RouterCommand();
      new CommandLine(rc)
          .parseArgs(routerArgs.subList(1, routerArgs.size()).toArray(String[]::new));
      // As RouterCommand.call() builds them, on a free loopback port instead of 0.0.0.0:8080.
      RouterSettings settings =
          rc.options
              .apply(
                  RouterSettings.defaults()
                      .host("127.0.0.1")
                      .port(0)
                      .discovery(rc.discovery)
                      .namespace(rc.namespace)
                      .selector(rc.selector)
                      .portName(rc.portName))
              .healthIntervalMs(200);
      router = Router.start(settings);

      String model = engineArgs.get(engineArgs.indexOf("--model") + 1);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (router.registry().candidates(model, System.nanoTime()).size() < POD_IPS.size()
          && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(router.registry().candidates(model, System.nanoTime())).hasSize(POD_IPS.size());

      String system = "You are the support assistant of a large bank. ".repeat(60); // ~600 tokens
      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> first = chat(http, router, model, system, "first question");
      assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
      String home = first.headers().firstValue("x-llmstack-engine").orElseThrow();
      assertThat(home).matches("http://127\\.0\\.0\\.[23]:8000");

      // The first request's BlockStored events travel engine :5557 -> router (offset -2443).
      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (router.kvIndex().size() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(router.kvIndex().size())
          .as("blocks the router learned from KV events")
          .isPositive();

      HttpResponse<String> second = chat(http, router, model, system, "second question");
      assertThat(second.statusCode()).isEqualTo(200);
      assertThat(second.headers().firstValue("x-llmstack-engine")).contains(home);
      String route = second.headers().firstValue("x-llmstack-route").orElseThrow();
      Matcher hit = Pattern.compile("^kv;hit=(\\d+)/").matcher(route);
      assertThat(hit.find()).as(route).isTrue();
      assertThat(Integer.parseInt(hit.group(1))).as(route).isGreaterThan(500);
    } finally {
      if (router != null) {
        router.close();
      }
      engines.forEach(SimulatedEngine::close);
    }
  }

  static HttpResponse<String> chat(
      HttpClient http, Router router, String model, String system, String question)
      throws IOException, InterruptedException {
    String body =
        "{\"model\":\"%s\",\"messages\":[{\"role\":\"system\",\"content\":\"%s\"},{\"role\":\"user\",\"content\":\"%s\"}],\"max_tokens\":4}"
            .formatted(model, system, question);
    return http.send(
        HttpRequest.newBuilder(URI.create(router.baseUrl() + "/v1/chat/completions"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static boolean free(String host, int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(host, port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
