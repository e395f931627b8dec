package dev.llmstack.deploy;

import static dev.llmstack.deploy.Manifests.args;
import static dev.llmstack.deploy.Manifests.firstContainer;
import static dev.llmstack.deploy.Manifests.flag;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstack.router.discovery.Endpoint;
import dev.llmstack.router.discovery.KubernetesEndpointSource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The router's own Kubernetes discovery, configured by the flags the chart gives the router, run
 * against fabric8's mock API server holding the pods the chart's Deployments would create (router,
 * cache server and every engine pool), plus pods it must ignore: engines that are not ready yet,
 * another release's engines and engines in another namespace. It finds exactly this release's ready
 * engine pods, each at the port it serves its API on.
 */
class RenderedPodsDiscoveryTest {

  KubernetesClient client;

  /** One install of the chart: its rendered objects and the engine endpoints it should yield. */
  record Case(String values, String namespace, Manifests manifests, Set<Endpoint> expected) {}

  /**
   * All values files in one test, each installed in its own namespace, every pod created before any
   * informer starts: against the mock server, the first request after a watch closes waits out a 30
   * s timeout, so the sources all run side by side and close together at the end.
   */
  @Test
  void routerDiscoveryFindsExactlyTheEnginePodsForEveryValuesFile() throws Exception {
    try (MockApiServer api = new MockApiServer()) {
      client = api.client();
      discoverAll();
    }
  }

  private void discoverAll() throws Exception {
    List<Case> cases = new ArrayList<>();
    int next = 1;
    for (String values : Chart.valuesFiles()) {
      String namespace = values.replace("-values.yaml", "");
      Manifests m = Chart.render(values, namespace);
      Set<Endpoint> expected = new HashSet<>();
      for (ObjectNode d : m.ofKind("Deployment")) {
        boolean engine = m.deployments("engine").contains(d);
        int replicas = d.path("spec").path("replicas").asInt(2);
        for (int i = 0; i < replicas; i++) {
          String ip = "10.1.0." + next++;
          create(pod(d, Manifests.name(d) + "-" + i, namespace, ip, true));
          if (engine) {
            expected.add(Endpoint.of(ip, ChartWiringTest.engineHttpPort(d)));
          }
        }
        if (engine) {
          // Not ready yet (loading its model): no traffic until its readiness probe passes.
          create(pod(d, Manifests.name(d) + "-starting", namespace, "10.1.1." + next++, false));
          // The same chart installed as another release, and in another namespace.
          Pod other = pod(d, Manifests.name(d) + "-other", namespace, "10.1.2." + next++, true);
          other.getMetadata().getLabels().put("app.kubernetes.io/instance", "other");
          create(other);
          create(
              pod(d, Manifests.name(d) + "-0", namespace + "-elsewhere", "10.1.3." + next++, true));
        }
      }
      assertThat(expected).as(values).isNotEmpty();
      cases.add(new Case(values, namespace, m, expected));
    }

    List<KubernetesEndpointSource> sources = new ArrayList<>();
    List<AtomicReference<Set<Endpoint>>> seen = new ArrayList<>();
    try {
      for (Case c : cases) {
        List<String> routerArgs = args(firstContainer(c.manifests().router()));
        assertThat(flag(routerArgs, "--namespace")).isEqualTo(c.namespace());
        KubernetesEndpointSource source =
            new KubernetesEndpointSource(
                client,
                flag(routerArgs, "--namespace"),
                flag(routerArgs, "--selector"),
                flag(routerArgs, "--port-name"));
        AtomicReference<Set<Endpoint>> found = new AtomicReference<>(Set.of());
        sources.add(source);
        seen.add(found);
        source.start(found::set);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      for (int i = 0; i < cases.size(); i++) {
        while (!cases.get(i).expected().equals(seen.get(i).get()) && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        assertThat(seen.get(i).get()).as(cases.get(i).values()).isEqualTo(cases.get(i).expected());
      }
    } finally {
      sources.forEach(KubernetesEndpointSource::close);
    }
  }

  private void create(Pod pod) {
    client.pods().inNamespace(pod.getMetadata().getNamespace()).resource(pod).create();
  }

  private Pod pod(JsonNode deployment, String name, String namespace, String ip, boolean ready) {
    return ChartFixtures.pod(client, deployment, name, namespace, ip, ready);
  }
}
