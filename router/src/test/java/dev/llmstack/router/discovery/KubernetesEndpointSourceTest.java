package dev.llmstack.router.discovery;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Pod discovery against fabric8's Kubernetes API mock server in CRUD mode. */
@EnableKubernetesMockClient(crud = true)
class KubernetesEndpointSourceTest {

  KubernetesClient client;

  static Pod pod(String name, String ip, boolean ready, String app) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace("llm")
        .addToLabels("app", app)
        .endMetadata()
        .withNewSpec()
        .addNewContainer()
        .withName("vllm")
        .withImage("vllm/vllm-openai")
        .addNewPort()
        .withName("http")
        .withContainerPort(8000)
        .endPort()
        .endContainer()
        .endSpec()
        .withNewStatus()
        .withPodIP(ip)
        .addNewCondition()
        .withType("Ready")
        .withStatus(ready ? "True" : "False")
        .endCondition()
        .endStatus()
        .build();
  }

  static void await(AtomicReference<Set<Endpoint>> seen, Set<Endpoint> expected)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!expected.equals(seen.get()) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(seen.get()).isEqualTo(expected);
  }

  @Test
  void readyPodsMatchingTheSelectorBecomeEndpoints() throws Exception {
    AtomicReference<Set<Endpoint>> seen = new AtomicReference<>(Set.of());
    try (KubernetesEndpointSource source =
        new KubernetesEndpointSource(client, "llm", "app=vllm", "http")) {
      source.start(seen::set);
      client
          .pods()
          .inNamespace("llm")
          .resource(pod("engine-0", "10.0.0.5", false, "vllm"))
          .create();
      client
          .pods()
          .inNamespace("llm")
          .resource(pod("other", "10.0.0.9", true, "postgres"))
          .create();
      Thread.sleep(300);
      assertThat(seen.get()).as("not ready, and not ours").isEmpty();

      client.pods().inNamespace("llm").resource(pod("engine-0", "10.0.0.5", true, "vllm")).update();
      await(seen, Set.of(Endpoint.of("10.0.0.5", 8000)));

      Pod annotated =
          new PodBuilder(pod("engine-1", "10.0.0.6", true, "vllm"))
              .editMetadata()
              .addToAnnotations(KubernetesEndpointSource.PORT_ANNOTATION, "9000")
              .endMetadata()
              .build();
      client.pods().inNamespace("llm").resource(annotated).create();
      await(seen, Set.of(Endpoint.of("10.0.0.5", 8000), Endpoint.of("10.0.0.6", 9000)));

      client.pods().inNamespace("llm").withName("engine-0").delete();
      await(seen, Set.of(Endpoint.of("10.0.0.6", 9000)));
    }
  }
}
