package dev.llmstack.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code helm lint --strict} over the defaults and every ci/ values file; values.schema.json. */
class ChartLintTest {

  @TempDir Path tmp;

  static List<String> valuesFiles() {
    return Chart.valuesFiles();
  }

  @Test
  void defaultValuesLintCleanly() throws IOException {
    assertLints(copyChart(null));
  }

  /**
   * helm-java's lint takes no values file, so each file is merged over the chart's defaults the way
   * Helm merges values (maps deep, lists replaced) into a copy of the chart.
   */
  @ParameterizedTest
  @MethodSource("valuesFiles")
  void everyValuesFileLintsCleanly(String values) throws IOException {
    assertLints(copyChart(values));
  }

  static Stream<Arguments> invalidValues() {
    String pool = "modelPools: [{name: llama-8b, model: m, %s}]";
    return Stream.of(
        Arguments.of(pool.formatted("tensorParallelSize: 0"), "/modelPools/0/tensorParallelSize"),
        Arguments.of(pool.formatted("replica: 2"), "/modelPools/0"),
        Arguments.of("modelPools: [{name: Llama_8B, model: m}]", "/modelPools/0/name"),
        Arguments.of("modelPools: [{name: llama}]", "missing property 'model'"),
        Arguments.of("modelPools: []", "/modelPools"),
        Arguments.of("autoscaling: {type: vpa}", "/autoscaling/type"),
        Arguments.of("router: {policy: random}", "/router/policy"),
        Arguments.of("engine: {kvEvents: {port: 70000}}", "/engine/kvEvents/port"),
        Arguments.of("router: {replica: 3}", "/router"),
        Arguments.of(pool.formatted("prefixCaching: false"), "needs prefixCaching"),
        Arguments.of(pool.formatted("lora: {modules: [{name: sql}]}"), "missing property 'path'"),
        Arguments.of(pool.formatted("lora: {maxLoras: 0}"), "/modelPools/0/lora/maxLoras"),
        Arguments.of("engine: {kvEvents: {enabled: false}}", "router.policy kv needs"),
        Arguments.of("engine: {kvEvents: {port: 8000}}", "must differ"),
        Arguments.of(
            "modelPools: [{name: a, model: m1}, {name: a, model: m2}]", "\"a\" is used twice"),
        Arguments.of(
            "autoscaling: {enabled: true}\n" + pool.formatted("minReplicas: 3, maxReplicas: 2"),
            "minReplicas is above maxReplicas"));
  }

  @ParameterizedTest
  @MethodSource("invalidValues")
  void invalidValuesAreRefusedNamingTheProblem(String values, String message) throws IOException {
    Path file = tmp.resolve("values.yaml");
    Files.writeString(file, values);
    assertThatThrownBy(() -> Chart.templateFile(file, Map.of())).hasMessageContaining(message);
  }

  private void assertLints(Path chart) {
    LintResult result = new Helm(chart).lint().strict().call();
    assertThat(result.isFailed()).as("helm lint: %s", result.getMessages()).isFalse();
    assertThat(result.getMessages())
        .as("no warnings or errors")
        .noneMatch(msg -> msg.contains("[WARNING]") || msg.contains("[ERROR]"));
  }

  private Path copyChart(String valuesFile) throws IOException {
    Path dest = tmp.resolve("llm-stack");
    try (Stream<Path> files = Files.walk(Chart.DIR)) {
      for (Path src : files.toList()) {
        Path target = dest.resolve(Chart.DIR.relativize(src).toString());
        if (Files.isDirectory(src)) {
          Files.createDirectories(target);
        } else {
          Files.copy(src, target);
        }
      }
    }
    if (valuesFile != null) {
      JsonNode defaults = Chart.YAML.readTree(Chart.DIR.resolve("values.yaml").toFile());
      JsonNode overrides =
          Chart.YAML.readTree(Chart.DIR.resolve("ci").resolve(valuesFile).toFile());
      Files.writeString(
          dest.resolve("values.yaml"),
          Chart.YAML.writeValueAsString(merge((ObjectNode) defaults, overrides)));
    }
    return dest;
  }

  /** Helm's rule: maps merge key by key, anything else (lists included) replaces. */
  static ObjectNode merge(ObjectNode base, JsonNode over) {
    over.properties()
        .forEach(
            e -> {
              JsonNode old = base.get(e.getKey());
              if (old instanceof ObjectNode o && e.getValue().isObject()) {
                merge(o, e.getValue());
              } else {
                base.set(e.getKey(), e.getValue());
              }
            });
    return base;
  }
}
