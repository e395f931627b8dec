package dev.llmstack.deploy;

import com.fasterxml.jackson.databind.JsonNode;
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

  public static List<String> args(JsonNode container) {
    return Manifests.args(container);
  }

  public static int containerPort(JsonNode container, String name) {
    return Manifests.containerPort(container, name);
  }
}
