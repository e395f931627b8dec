package dev.llmstack.deploy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;

/** Rendered chart pieces for tests in other packages (the CLI's own package, for one). */
public final class ChartFixtures {

  public static final String NAMESPACE = Chart.NAMESPACE;

  private ChartFixtures() {}

  public static List<String> valuesFiles() {
    return Chart.valuesFiles();
  }

  public static JsonNode routerContainer(String values) {
    return Manifests.firstContainer(Chart.render(values).router());
  }

  public static List<JsonNode> engineContainers(String values) {
    return Chart.render(values).deployments("engine").stream()
        .map(Manifests::firstContainer)
        .toList();
  }

  public static JsonNode routerDeployment(String values) {
    return Chart.render(values).router();
  }

  public static List<? extends JsonNode> engineDeployments(String values) {
    return Chart.render(values).deployments("engine");
  }

  public static JsonNode firstContainer(JsonNode deployment) {
    return Manifests.firstContainer(deployment);
  }

  /** A pod as the Deployment's ReplicaSet would create it, scheduled, given an IP, ready or not. */
  public static Pod pod(
      KubernetesClient client,
      JsonNode deployment,
      String name,
      String namespace,
      String ip,
      boolean ready) {
    PodTemplateSpec template;
    try {
      template =
          client
              .getKubernetesSerialization()
              .unmarshal(
                  Chart.JSON.writeValueAsString(Manifests.podTemplate(deployment)),
                  PodTemplateSpec.class);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    return new PodBuilder()
        .withMetadata(template.getMetadata())
        .editMetadata()
        .withName(name)
        .withNamespace(namespace)
        .endMetadata()
        .withSpec(template.getSpec())
        .withNewStatus()
        .withPhase("Running")
        .withPodIP(ip)
        .addNewCondition()
        .withType("Ready")
        .withStatus(ready ? "True" : "False")
        .endCondition()
        .endStatus()
        .build();
  }

  public static String name(JsonNode obj) {
    return Manifests.name(obj);
  }

  public static List<String> args(JsonNode container) {
    return Manifests.args(container);
  }

  public static int containerPort(JsonNode container, String name) {
    return Manifests.containerPort(container, name);
  }
}
