package dev.llmstack.deploy;

import static dev.llmstack.deploy.Manifests.firstContainer;
import static dev.llmstack.deploy.Manifests.podTemplate;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The image (deploy/docker/Dockerfile, which cannot be built here: no Docker engine) and the chart
 * agree on what the chart relies on: entry point, user, cache paths and ports.
 */
class DockerfileTest {

  static final Path MODULE = Chart.DIR.getParent().getParent();
  static final Path DOCKERFILE = MODULE.resolve("docker/Dockerfile");

  /** Instructions with continuation lines joined and comments dropped. */
  static List<String> instructions() throws IOException {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : Files.readAllLines(DOCKERFILE)) {
      if (line.isBlank() || line.stripLeading().startsWith("#")) {
        continue;
      }
      current.append(line.strip());
      if (line.endsWith("\\")) {
        current.setLength(current.length() - 1);
        current.append(' ');
      } else {
        out.add(current.toString());
        current.setLength(0);
      }
    }
    return out;
  }

  static List<String> starting(String keyword) throws IOException {
    return instructions().stream().filter(i -> i.startsWith(keyword + " ")).toList();
  }

  @Test
  void buildsTheShadedJarWithJdk25AndRunsItOnAJre() throws IOException {
    assertThat(starting("FROM"))
        .containsExactly("FROM eclipse-temurin:25-jdk AS build", "FROM eclipse-temurin:25-jre");
    assertThat(instructions())
        .anySatisfy(i -> assertThat(i).contains("./mvnw").contains("package -pl app -am"))
        .anySatisfy(i -> assertThat(i).contains("cp app/target/llmstack.jar /llmstack.jar"))
        .contains("COPY --from=build /llmstack.jar /app/llmstack.jar")
        .contains("ENTRYPOINT [\"java\", \"-jar\", \"/app/llmstack.jar\"]");
    assertThat(instructions())
        .anySatisfy(
            i -> {
              assertThat(i).contains("deploy/docker/PrefetchTokenizers.java");
              assertThat(MODULE.resolve("docker/PrefetchTokenizers.java")).isRegularFile();
            });
  }

  @Test
  void userCachePathsAndPortsMatchTheChart() throws IOException {
    Manifests sim = Chart.render("simulation-values.yaml");
    JsonNode router = sim.router();

    assertThat(starting("USER")).containsExactly("USER 10001");
    assertThat(podTemplate(router).path("spec").path("securityContext").path("runAsUser").asInt())
        .isEqualTo(10001);

    String cacheDir = envOf(firstContainer(router), "LLMSTACK_CACHE_DIR");
    assertThat(String.join("\n", starting("ENV"))).contains("LLMSTACK_CACHE_DIR=" + cacheDir);
    // The init container copies the tokenizer files the image baked in.
    String seed =
        podTemplate(router)
            .path("spec")
            .path("initContainers")
            .path(0)
            .path("command")
            .path(2)
            .asText();
    Matcher baked =
        Pattern.compile("cp -a (\\S+)/\\. " + Pattern.quote(cacheDir) + "/").matcher(seed);
    assertThat(baked.find()).as(seed).isTrue();
    assertThat(instructions())
        .contains("COPY --from=build --chown=10001:10001 " + baked.group(1) + " " + baked.group(1));

    List<Integer> exposed = new ArrayList<>();
    for (String expose : starting("EXPOSE")) {
      for (String port : expose.substring("EXPOSE ".length()).split("\\s+")) {
        exposed.add(Integer.parseInt(port));
      }
    }
    JsonNode engine = firstContainer(sim.deployments("engine").getFirst());
    assertThat(exposed)
        .contains(
            Manifests.containerPort(firstContainer(router), "http"),
            Manifests.containerPort(engine, "http"),
            Manifests.containerPort(engine, "kv-events"),
            Manifests.containerPort(engine, "kv-replay"));
  }

  static String envOf(JsonNode container, String name) {
    for (JsonNode e : container.path("env")) {
      if (e.path("name").asText().equals(name)) {
        return e.path("value").asText();
      }
    }
    throw new AssertionError("no " + name + " in " + container.path("env"));
  }
}
