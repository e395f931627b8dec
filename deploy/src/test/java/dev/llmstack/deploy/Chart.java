package dev.llmstack.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The chart under deploy/helm/llm-stack, rendered by Helm itself (helm-java bundles Helm's Go code
 * as a native library: no helm binary, no network). Renders are cached per values file, since
 * several test classes read the same manifests.
 */
final class Chart {

  static final Path DIR = locate();
  static final String RELEASE = "demo";
  static final String NAMESPACE = "llm";

  /** The Kubernetes version rendered for (helm-java defaults to 1.20, below the chart's floor). */
  static final String KUBE_VERSION = "1.31.0";

  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final ObjectMapper JSON = new ObjectMapper();

  private static final Map<String, Manifests> RENDERED = new ConcurrentHashMap<>();

  private Chart() {}

  /** The values files under the chart's ci/ folder (chart-testing's convention), by file name. */
  static List<String> valuesFiles() {
    try (Stream<Path> files = Files.list(DIR.resolve("ci"))) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".yaml"))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * {@code helm template demo deploy/helm/llm-stack -n llm -f ci/<file>}, parsed; null: defaults.
   */
  static Manifests render(String valuesFile) {
    return RENDERED.computeIfAbsent(
        valuesFile == null ? "" : valuesFile,
        f -> parse(template(valuesFile, Map.<String, Object>of())));
  }

  /** Like {@link #render(String)}, installed into another namespace (not cached). */
  static Manifests render(String valuesFile, String namespace) {
    return parse(
        command(DIR.resolve("ci").resolve(valuesFile), Map.of()).withNamespace(namespace).call());
  }

  /** Helm's output for a values file plus {@code --set} pairs. */
  static String template(String valuesFile, Map<String, Object> sets) {
    return templateFile(valuesFile == null ? null : DIR.resolve("ci").resolve(valuesFile), sets);
  }

  /** Helm's output for a values file anywhere (null: none) plus {@code --set} pairs. */
  static String templateFile(Path valuesFile, Map<String, Object> sets) {
    return command(valuesFile, sets).call();
  }

  private static TemplateCommand command(Path valuesFile, Map<String, Object> sets) {
    TemplateCommand cmd =
        new Helm(DIR)
            .template()
            .withName(RELEASE)
            .withNamespace(NAMESPACE)
            .withKubeVersion(KUBE_VERSION);
    if (valuesFile != null) {
      cmd = cmd.withValuesFile(valuesFile);
    }
    for (var e : sets.entrySet()) {
      cmd = cmd.set(e.getKey(), e.getValue());
    }
    return cmd;
  }

  static Manifests parse(String yaml) {
    List<ObjectNode> docs = new ArrayList<>();
    try (var it = YAML.readerFor(JsonNode.class).<JsonNode>readValues(yaml)) {
      while (it.hasNext()) {
        JsonNode doc = it.next();
        if (doc instanceof ObjectNode o && o.has("kind")) {
          docs.add(o);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Manifests(List.copyOf(docs));
  }

  private static Path locate() {
    // Surefire runs in the module directory; an IDE may run in the repository root.
    for (Path p : List.of(Path.of("helm/llm-stack"), Path.of("deploy/helm/llm-stack"))) {
      if (Files.isRegularFile(p.resolve("Chart.yaml"))) {
        return p.toAbsolutePath();
      }
    }
    throw new IllegalStateException("chart not found from " + Path.of("").toAbsolutePath());
  }
}
