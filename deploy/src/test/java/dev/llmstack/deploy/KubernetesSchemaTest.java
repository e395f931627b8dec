package dev.llmstack.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rendered object is valid against its schema: the Kubernetes API's OpenAPI definitions for
 * built-in kinds and the KEDA and prometheus-operator CRD schemas for ScaledObject, PodMonitor and
 * ServiceMonitor (npm kubernetes-models and its CRD packages, run by node: see
 * src/test/node/validate.cjs). Those schemas allow unknown fields, as the API server's OpenAPI
 * does; a typo such as {@code readinesProbe} is caught separately by reading built-in kinds into
 * fabric8's typed model and refusing anything it could not place (kubeconform's --strict).
 */
class KubernetesSchemaTest {

  static final Path NODE_DIR = Chart.DIR.getParent().getParent().resolve("src/test/node");

  @TempDir Path tmp;

  static List<String> valuesFiles() {
    return Chart.valuesFiles();
  }

  /** Installs the validator's npm packages once (npm ci, from the committed lock file). */
  @BeforeAll
  static void installValidator() throws Exception {
    if (Files.isRegularFile(NODE_DIR.resolve("node_modules/kubernetes-models/package.json"))) {
      return;
    }
    Path log = Files.createTempFile("npm-ci", ".log");
    Process p =
        new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund")
            .directory(NODE_DIR.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IllegalStateException("npm ci took over 5 minutes");
    }
    assertThat(p.exitValue()).as("npm ci in %s: %s", NODE_DIR, Files.readString(log)).isZero();
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void renderedObjectsMatchTheirSchemas(String values) throws Exception {
    Manifests m = Chart.render(values);
    List<Result> results = validate(m.docs());
    assertThat(results).hasSize(m.docs().size());
    assertThat(results)
        .allSatisfy(r -> assertThat(r.errors()).as("%s %s", r.kind(), r.name()).isEmpty());
    Set<String> kinds = results.stream().map(Result::kind).collect(Collectors.toSet());
    assertThat(kinds).contains("Deployment", "Service", "Role", "RoleBinding", "ConfigMap");
    if (values.startsWith("autoscaling-keda")) {
      assertThat(kinds).contains("ScaledObject", "PodMonitor");
    }
    if (values.startsWith("two-models")) {
      assertThat(kinds).contains("PodMonitor", "ServiceMonitor");
    }
  }

  @Test
  void defaultRenderMatchesItsSchemas() throws Exception {
    List<Result> results = validate(Chart.render(null).docs());
    assertThat(results).isNotEmpty().allSatisfy(r -> assertThat(r.errors()).isEmpty());
  }

  /** The validator is not a rubber stamp: broken objects of each schema source are refused. */
  @Test
  void validatorRefusesBrokenObjects() throws Exception {
    Manifests m = Chart.render("autoscaling-keda-values.yaml");
    ObjectNode deployment = m.router().deepCopy();
    ((ObjectNode) Manifests.firstContainer(deployment).path("ports").path(0))
        .put("containerPort", "http");
    ObjectNode scaled = m.ofKind("ScaledObject").getFirst().deepCopy();
    ((ObjectNode) scaled.path("spec")).remove("scaleTargetRef");
    ObjectNode monitor = m.ofKind("PodMonitor").getFirst().deepCopy();
    ((ObjectNode) monitor.path("spec")).put("podMetricsEndpoints", "http");
    ObjectNode unknown =
        Chart.JSON.createObjectNode().put("apiVersion", "example.com/v1").put("kind", "Widget");

    List<Result> results = validate(List.of(deployment, scaled, monitor, unknown));

    assertThat(results.get(0).errors()).singleElement().asString().contains("containerPort");
    assertThat(results.get(1).errors()).singleElement().asString().contains("scaleTargetRef");
    assertThat(results.get(2).errors()).singleElement().asString().contains("podMetricsEndpoints");
    assertThat(results.get(3).errors()).singleElement().asString().contains("no schema");
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void builtInObjectsHaveNoUnknownFields(String values) throws Exception {
    KubernetesSerialization serialization = new KubernetesSerialization();
    for (ObjectNode doc : Chart.render(values).docs()) {
      if (doc.path("apiVersion").asText().contains(".")
          && !doc.path("apiVersion").asText().contains("k8s.io")) {
        continue; // CRDs: no typed model here; validate.cjs checks them against their schemas
      }
      Object typed = serialization.unmarshal(Chart.JSON.writeValueAsString(doc));
      assertThat(typed)
          .as("%s has a typed model", doc.path("kind"))
          .isInstanceOf(KubernetesResource.class);
      assertThat(unknownFields(typed, doc.path("kind").asText()))
          .as("%s %s", doc.path("kind").asText(), Manifests.name(doc))
          .isEmpty();
    }
  }

  @Test
  void unknownFieldCheckCatchesATypo() throws Exception {
    ObjectNode router = Chart.render(null).router().deepCopy();
    ObjectNode container = (ObjectNode) Manifests.firstContainer(router);
    container.set("readinesProbe", container.remove("readinessProbe"));
    Object typed = new KubernetesSerialization().unmarshal(Chart.JSON.writeValueAsString(router));
    assertThat(unknownFields(typed, "Deployment"))
        .containsExactly("Deployment.spec.template.spec.containers[0].readinesProbe");
  }

  // --- helpers

  record Result(String apiVersion, String kind, String name, List<String> errors) {}

  private List<Result> validate(List<ObjectNode> docs) throws IOException, InterruptedException {
    Path input = tmp.resolve("objects-" + System.nanoTime() + ".json");
    Chart.JSON.writeValue(input.toFile(), docs);
    Path output = tmp.resolve("results-" + System.nanoTime() + ".jsonl");
    Process p =
        new ProcessBuilder("node", NODE_DIR.resolve("validate.cjs").toString(), input.toString())
            .redirectOutput(output.toFile())
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("node finished").isTrue();
    assertThat(p.exitValue()).as("node exit code").isZero();
    List<Result> results = new ArrayList<>();
    for (String line : Files.readAllLines(output)) {
      if (!line.isBlank()) {
        results.add(Chart.JSON.readValue(line, Result.class));
      }
    }
    return results;
  }

  /**
   * Paths of fields fabric8's model could not place: its classes keep whatever JSON they do not
   * know in {@code additionalProperties}.
   */
  static List<String> unknownFields(Object model, String path) throws ReflectiveOperationException {
    List<String> out = new ArrayList<>();
    walk(model, path, out);
    return out;
  }

  private static void walk(Object node, String path, List<String> out)
      throws ReflectiveOperationException {
    switch (node) {
      case null -> {}
      case Collection<?> items -> {
        int i = 0;
        for (Object item : items) {
          walk(item, path + "[" + i++ + "]", out);
        }
      }
      case Map<?, ?> map -> {
        for (var e : map.entrySet()) {
          walk(e.getValue(), path + "." + e.getKey(), out);
        }
      }
      default -> {
        if (!node.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
          return;
        }
        for (Method getter : node.getClass().getMethods()) {
          if (getter.getParameterCount() != 0
              || Modifier.isStatic(getter.getModifiers())
              || !getter.getName().startsWith("get")
              || getter.getName().equals("getClass")) {
            continue;
          }
          Object value;
          try {
            value = getter.invoke(node);
          } catch (InvocationTargetException e) {
            continue;
          }
          if (getter.getName().equals("getAdditionalProperties")) {
            if (value instanceof Map<?, ?> extra) {
              extra.keySet().forEach(k -> out.add(path + "." + k));
            }
          } else {
            walk(value, path + "." + property(getter.getName()), out);
          }
        }
      }
    }
  }

  private static String property(String getter) {
    String p = getter.substring(3);
    return Character.toLowerCase(p.charAt(0)) + p.substring(1);
  }
}
