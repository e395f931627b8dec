package dev.llmstack.deploy;

import static dev.llmstack.deploy.Manifests.args;
import static dev.llmstack.deploy.Manifests.containerPort;
import static dev.llmstack.deploy.Manifests.firstContainer;
import static dev.llmstack.deploy.Manifests.flag;
import static dev.llmstack.deploy.Manifests.labels;
import static dev.llmstack.deploy.Manifests.matches;
import static dev.llmstack.deploy.Manifests.name;
import static dev.llmstack.deploy.Manifests.parseSelector;
import static dev.llmstack.deploy.Manifests.podTemplate;
import static dev.llmstack.deploy.Manifests.strings;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llmstack.router.discovery.KubernetesEndpointSource;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The objects the chart renders fit together, for every values file under ci/: selectors select the
 * pods they are meant for and no others, named ports exist where they are referenced, the router
 * may watch pods, and the router follows exactly the KV-event ports the engines publish on.
 */
class ChartWiringTest {

  static List<String> valuesFiles() {
    return Chart.valuesFiles();
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void everyDeploymentSelectsItsOwnPodsAndNoOthers(String values) {
    Manifests m = Chart.render(values);
    List<ObjectNode> deployments = m.ofKind("Deployment");
    assertThat(deployments).isNotEmpty();
    for (ObjectNode d : deployments) {
      Map<String, String> selector = strings(d.path("spec").path("selector").path("matchLabels"));
      assertThat(selectedDeployments(m, selector))
          .as("Deployment %s's selector %s", name(d), selector)
          .containsExactly(name(d));
    }
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void servicesReachPodsOnDeclaredPorts(String values) {
    Manifests m = Chart.render(values);
    for (ObjectNode svc : m.ofKind("Service")) {
      List<ObjectNode> targets =
          m.ofKind("Deployment").stream()
              .filter(
                  d -> matches(strings(svc.path("spec").path("selector")), labels(podTemplate(d))))
              .toList();
      assertThat(targets).as("pods behind Service %s", name(svc)).hasSize(1);
      for (JsonNode port : svc.path("spec").path("ports")) {
        String target = port.path("targetPort").asText();
        assertThat(containerPort(firstContainer(targets.getFirst()), target))
            .as("Service %s targetPort %s", name(svc), target)
            .isPositive();
      }
    }
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void probesUseDeclaredPorts(String values) {
    for (ObjectNode d : Chart.render(values).ofKind("Deployment")) {
      JsonNode c = firstContainer(d);
      for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
        JsonNode p = c.path(probe);
        if (p.isMissingNode()) {
          continue;
        }
        JsonNode action = p.has("httpGet") ? p.path("httpGet") : p.path("tcpSocket");
        String port = action.path("port").asText();
        assertThat(containerPort(c, port)).as("%s %s port %s", name(d), probe, port).isPositive();
      }
      assertThat(c.has("readinessProbe") && c.has("livenessProbe"))
          .as("%s has readiness and liveness probes", name(d))
          .isTrue();
    }
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void disruptionBudgetsAndMonitorsSelectWhatTheyName(String values) {
    Manifests m = Chart.render(values);
    List<ObjectNode> pdbs = m.ofKind("PodDisruptionBudget");
    assertThat(pdbs)
        .as("a budget per engine pool and the router")
        .hasSize(m.ofKind("Deployment").size() - cacheServers(m));
    for (ObjectNode pdb : pdbs) {
      Map<String, String> selector = strings(pdb.path("spec").path("selector").path("matchLabels"));
      assertThat(selectedDeployments(m, selector))
          .as("PDB %s", name(pdb))
          .containsExactly(name(pdb));
    }
    for (ObjectNode pm : m.ofKind("PodMonitor")) {
      Map<String, String> selector = strings(pm.path("spec").path("selector").path("matchLabels"));
      assertThat(selectedDeployments(m, selector))
          .as("PodMonitor %s scrapes the engines", name(pm))
          .containsExactlyInAnyOrderElementsOf(names(m.deployments("engine")));
      String port = pm.path("spec").path("podMetricsEndpoints").path(0).path("port").asText();
      m.deployments("engine")
          .forEach(d -> assertThat(containerPort(firstContainer(d), port)).isPositive());
    }
    for (ObjectNode sm : m.ofKind("ServiceMonitor")) {
      Map<String, String> selector = strings(sm.path("spec").path("selector").path("matchLabels"));
      List<String> services =
          m.ofKind("Service").stream()
              .filter(s -> matches(selector, labels(s)))
              .map(Manifests::name)
              .toList();
      assertThat(services).as("ServiceMonitor %s", name(sm)).containsExactly(name(m.router()));
      String port = sm.path("spec").path("endpoints").path(0).path("port").asText();
      assertThat(
              m.get("Service", name(m.router()))
                  .path("spec")
                  .path("ports")
                  .findValuesAsText("name"))
          .contains(port);
    }
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void routerWatchesExactlyTheEnginePodsOfItsNamespace(String values) {
    Manifests m = Chart.render(values);
    List<String> routerArgs = args(firstContainer(m.router()));
    assertThat(flag(routerArgs, "--discovery")).isEqualTo("k8s");
    assertThat(flag(routerArgs, "--namespace")).isEqualTo(Chart.NAMESPACE);
    Map<String, String> selector = parseSelector(flag(routerArgs, "--selector"));
    assertThat(selectedDeployments(m, selector))
        .containsExactlyInAnyOrderElementsOf(names(m.deployments("engine")))
        .isNotEmpty();
    String portName = flag(routerArgs, "--port-name");
    for (ObjectNode engine : m.deployments("engine")) {
      assertThat(containerPort(firstContainer(engine), portName))
          .as("%s exposes its API on the port the router looks for", name(engine))
          .isEqualTo(engineHttpPort(engine));
      assertThat(engine.path("metadata").path("namespace").asText()).isEqualTo(Chart.NAMESPACE);
    }
    // The router binds all interfaces, or the Service could not reach it.
    assertThat(flag(routerArgs, "--host")).isEqualTo("0.0.0.0");
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void routerRbacAllowsItsPodWatch(String values) {
    Manifests m = Chart.render(values);
    String sa = podTemplate(m.router()).path("spec").path("serviceAccountName").asText();
    assertThat(m.has("ServiceAccount", sa)).as("service account %s rendered", sa).isTrue();
    boolean allowed = false;
    for (ObjectNode binding : m.ofKind("RoleBinding")) {
      boolean boundToRouter = false;
      for (JsonNode s : binding.path("subjects")) {
        boundToRouter |=
            s.path("kind").asText().equals("ServiceAccount")
                && s.path("name").asText().equals(sa)
                && s.path("namespace").asText().equals(Chart.NAMESPACE);
      }
      JsonNode ref = binding.path("roleRef");
      if (!boundToRouter || !ref.path("kind").asText().equals("Role")) {
        continue;
      }
      ObjectNode role = m.get("Role", ref.path("name").asText());
      assertThat(role.path("metadata").path("namespace").asText()).isEqualTo(Chart.NAMESPACE);
      for (JsonNode rule : role.path("rules")) {
        allowed |=
            texts(rule.path("apiGroups")).contains("")
                && texts(rule.path("resources")).contains("pods")
                && texts(rule.path("verbs")).containsAll(List.of("get", "list", "watch"));
      }
    }
    assertThat(allowed).as("a Role bound to %s grants get, list and watch on pods", sa).isTrue();
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void routerFollowsTheKvEventPortsTheEnginesPublishOn(String values) {
    Manifests m = Chart.render(values);
    List<String> routerArgs = args(firstContainer(m.router()));
    assertThat(flag(routerArgs, "--policy")).isEqualTo("kv");
    int eventsOffset = Integer.parseInt(flag(routerArgs, "--kv-events-port-offset"));
    int replayOffset = Integer.parseInt(flag(routerArgs, "--kv-replay-port-offset"));
    String topic = flag(routerArgs, "--kv-events-topic");
    for (ObjectNode engine : m.deployments("engine")) {
      JsonNode c = firstContainer(engine);
      List<String> engineArgs = args(c);
      // Where the router connects: the discovered HTTP port plus the offsets (Router.kvEndpoints).
      int events = engineHttpPort(engine) + eventsOffset;
      int replay = engineHttpPort(engine) + replayOffset;
      assertThat(containerPort(c, "kv-events"))
          .as("%s kv-events port", name(engine))
          .isEqualTo(events);
      assertThat(containerPort(c, "kv-replay"))
          .as("%s kv-replay port", name(engine))
          .isEqualTo(replay);
      if (isSimulated(engine)) {
        assertThat(flag(engineArgs, "--kv-events-port")).isEqualTo(String.valueOf(events));
        assertThat(flag(engineArgs, "--kv-replay-port")).isEqualTo(String.valueOf(replay));
        assertThat(flag(engineArgs, "--kv-events-topic")).isEqualTo(topic);
      } else {
        JsonNode config = json(flag(engineArgs, "--kv-events-config"));
        assertThat(config.path("enable_kv_cache_events").asBoolean()).isTrue();
        assertThat(config.path("publisher").asText()).isEqualTo("zmq");
        // tcp://*:P binds (vLLM connects instead when the host is not a wildcard).
        assertThat(config.path("endpoint").asText()).isEqualTo("tcp://*:" + events);
        assertThat(config.path("replay_endpoint").asText()).isEqualTo("tcp://*:" + replay);
        assertThat(config.path("topic").asText()).isEqualTo(topic);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void enginesRunWithPrefixCachingAndCachedTokenReports(String values) {
    Manifests m = Chart.render(values);
    for (ObjectNode engine : m.deployments("engine")) {
      JsonNode c = firstContainer(engine);
      List<String> a = args(c);
      assertThat(a)
          .contains("--enable-prompt-tokens-details")
          .doesNotContain("--no-enable-prefix-caching");
      assertThat(flag(a, "--host")).isEqualTo("0.0.0.0");
      assertThat(flag(a, "--port")).isEqualTo(String.valueOf(engineHttpPort(engine)));
      JsonNode gpus = c.path("resources").path("limits").path("nvidia.com/gpu");
      if (isSimulated(engine)) {
        assertThat(a.getFirst()).isEqualTo("engine");
        assertThat(c.path("image").asText())
            .isEqualTo(firstContainer(m.router()).path("image").asText());
        assertThat(gpus.isMissingNode()).as("simulated engines ask for no GPU").isTrue();
      } else {
        assertThat(texts(c.path("command"))).containsExactly("vllm", "serve");
        assertThat(c.path("image").asText()).contains("vllm-openai");
        assertThat(a).contains("--enable-prefix-caching");
        assertThat(gpus.asInt()).isEqualTo(Integer.parseInt(flag(a, "--tensor-parallel-size")));
        assertThat(flag(a, "--served-model-name"))
            .isEqualTo(
                podTemplate(engine)
                    .path("metadata")
                    .path("annotations")
                    .path("llmstack.dev/model")
                    .asText());
      }
    }
    assertThat(m.deployments("engine").stream().allMatch(ChartWiringTest::isSimulated))
        .isEqualTo(values.startsWith("simulation") || values.startsWith("autoscaling-keda"));
  }

  @org.junit.jupiter.api.Test
  void loraPoolsServeTheirAdaptersAndOnlyThem() {
    Manifests m = Chart.render("two-models-values.yaml");
    for (ObjectNode engine : m.deployments("engine")) {
      List<String> a = args(firstContainer(engine));
      if (flag(a, "--served-model-name").equals("meta-llama/Llama-3.1-8B-Instruct")) {
        assertThat(a).contains("--enable-lora");
        assertThat(flag(a, "--lora-modules"))
            .isEqualTo("sql-lora=/root/.cache/huggingface/adapters/sql-lora");
        assertThat(flag(a, "--max-loras")).isEqualTo("4");
        assertThat(flag(a, "--max-lora-rank")).isEqualTo("64");
      } else {
        assertThat(a).doesNotContain("--enable-lora", "--lora-modules", "--max-loras");
      }
    }
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void autoscalersTargetEnginePoolsWhoseReplicasTheyOwn(String values) {
    Manifests m = Chart.render(values);
    List<ObjectNode> scalers = new ArrayList<>(m.ofKind("ScaledObject"));
    m.ofKind("HorizontalPodAutoscaler").stream()
        .filter(
            h ->
                !h.path("spec")
                    .path("scaleTargetRef")
                    .path("name")
                    .asText()
                    .equals(name(m.router())))
        .forEach(scalers::add);
    boolean autoscaled = values.startsWith("autoscaling");
    assertThat(scalers).hasSize(autoscaled ? m.deployments("engine").size() : 0);
    Set<String> targets = new HashSet<>();
    for (ObjectNode s : scalers) {
      JsonNode ref = s.path("spec").path("scaleTargetRef");
      assertThat(ref.path("kind").asText()).isEqualTo("Deployment");
      targets.add(ref.path("name").asText());
      // KEDA names the bounds minReplicaCount/maxReplicaCount, the HPA minReplicas/maxReplicas.
      String suffix = s.path("kind").asText().equals("ScaledObject") ? "ReplicaCount" : "Replicas";
      int min = s.path("spec").path("min" + suffix).asInt();
      int max = s.path("spec").path("max" + suffix).asInt();
      assertThat(min).isPositive().isLessThanOrEqualTo(max);
      if (s.path("kind").asText().equals("ScaledObject")) {
        JsonNode trigger = s.path("spec").path("triggers").path(0);
        assertThat(trigger.path("type").asText()).isEqualTo("prometheus");
        assertThat(trigger.path("metadata").path("query").asText())
            .contains("vllm:num_requests_waiting");
      }
    }
    assertThat(targets)
        .containsExactlyInAnyOrderElementsOf(
            autoscaled ? names(m.deployments("engine")) : List.of());
    for (ObjectNode engine : m.deployments("engine")) {
      // A Deployment that states replicas would be reset by every helm upgrade, fighting the
      // scaler.
      assertThat(engine.path("spec").has("replicas"))
          .as("%s states replicas", name(engine))
          .isEqualTo(!autoscaled);
    }
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void terminationGraceCoversTheDrain(String values) {
    Manifests m = Chart.render(values);
    JsonNode router = m.router();
    int routerGrace =
        podTemplate(router).path("spec").path("terminationGracePeriodSeconds").asInt();
    int routerDrain = Integer.parseInt(flag(args(firstContainer(router)), "--drain-seconds"));
    assertThat(routerGrace).isGreaterThan(routerDrain + preStopSleep(router));
    for (ObjectNode engine : m.deployments("engine")) {
      int grace = podTemplate(engine).path("spec").path("terminationGracePeriodSeconds").asInt();
      assertThat(grace)
          .as("%s has minutes to finish its streams", name(engine))
          .isGreaterThanOrEqualTo(300);
      String drain = flag(args(firstContainer(engine)), "--drain-seconds");
      if (drain != null) {
        assertThat(Integer.parseInt(drain) + preStopSleep(engine)).isLessThan(grace);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void lmcacheRemoteUrlPointsAtTheCacheServerService(String values) {
    Manifests m = Chart.render(values);
    for (ObjectNode engine : m.deployments("engine")) {
      for (JsonNode env : firstContainer(engine).path("env")) {
        if (!env.path("name").asText().equals("LMCACHE_REMOTE_URL")) {
          continue;
        }
        URI url = URI.create(env.path("value").asText());
        assertThat(url.getScheme()).isEqualTo("lm");
        String service = url.getHost().substring(0, url.getHost().indexOf('.'));
        assertThat(url.getHost()).isEqualTo(service + "." + Chart.NAMESPACE + ".svc");
        JsonNode svc = m.get("Service", service);
        assertThat(svc.path("spec").path("ports").findValues("port").stream().map(JsonNode::asInt))
            .contains(url.getPort());
        assertThat(selectedDeployments(m, strings(svc.path("spec").path("selector"))))
            .containsExactlyElementsOf(names(m.deployments("cache-server")));
        assertThat(args(firstContainer(engine))).contains("--kv-transfer-config");
      }
    }
    if (values.startsWith("two-models")) {
      assertThat(m.deployments("cache-server")).hasSize(1);
    }
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void grafanaDashboardShipsAsValidJson(String values) throws Exception {
    Manifests m = Chart.render(values);
    ObjectNode cm = m.get("ConfigMap", Chart.RELEASE + "-llm-stack-dashboard");
    assertThat(labels(cm)).containsEntry("grafana_dashboard", "1");
    JsonNode dashboard = Chart.JSON.readTree(cm.path("data").path("llmstack.json").asText());
    assertThat(dashboard.path("panels").size()).isPositive();
    assertThat(dashboard.path("panels").findValuesAsText("expr"))
        .anySatisfy(e -> assertThat(e).contains("llmstack_router_requests_total"))
        .anySatisfy(e -> assertThat(e).contains("vllm:num_requests_waiting"));
  }

  @ParameterizedTest
  @MethodSource("valuesFiles")
  void llmstackPodsKeepTokenizerFilesInASeededWritableCache(String values) {
    Manifests m = Chart.render(values);
    String image = firstContainer(m.router()).path("image").asText();
    for (ObjectNode d : m.ofKind("Deployment")) {
      JsonNode c = firstContainer(d);
      if (!c.path("image").asText().equals(image)) {
        continue;
      }
      String cacheDir =
          c.path("env").findParents("name").stream()
              .filter(e -> e.path("name").asText().equals("LLMSTACK_CACHE_DIR"))
              .map(e -> e.path("value").asText())
              .findFirst()
              .orElseThrow();
      String volume = volumeAt(c, cacheDir);
      assertThat(volume).as("%s mounts a volume at %s", name(d), cacheDir).isNotNull();
      assertThat(podTemplate(d).path("spec").path("volumes").findValuesAsText("name"))
          .contains(volume);
      JsonNode seed = podTemplate(d).path("spec").path("initContainers").path(0);
      assertThat(seed.path("image").asText()).isEqualTo(image);
      assertThat(volumeAt(seed, cacheDir)).isEqualTo(volume);
    }
  }

  /**
   * The chart ships its own copy of the dashboard (Helm reads files only inside the chart); when
   * the project's dashboard deploy/grafana/llmstack.json exists, the copy must be the same.
   */
  @Test
  void chartDashboardIsTheProjectDashboard() throws Exception {
    Path project = Chart.DIR.getParent().getParent().resolve("grafana/llmstack.json");
    assertThat(project).isRegularFile();
    assertThat(Chart.JSON.readTree(Chart.DIR.resolve("dashboards/llmstack.json").toFile()))
        .isEqualTo(Chart.JSON.readTree(project.toFile()));
  }

  // --- helpers

  static String volumeAt(JsonNode container, String path) {
    for (JsonNode mount : container.path("volumeMounts")) {
      if (mount.path("mountPath").asText().equals(path)) {
        return mount.path("name").asText();
      }
    }
    return null;
  }

  /** The port the router's discovery finds: the annotation, else the port named http. */
  static int engineHttpPort(JsonNode engine) {
    JsonNode annotation =
        podTemplate(engine)
            .path("metadata")
            .path("annotations")
            .path(KubernetesEndpointSource.PORT_ANNOTATION);
    return annotation.isMissingNode()
        ? containerPort(firstContainer(engine), "http")
        : Integer.parseInt(annotation.asText());
  }

  static boolean isSimulated(JsonNode engine) {
    return !args(firstContainer(engine)).isEmpty()
        && args(firstContainer(engine)).getFirst().equals("engine");
  }

  static int preStopSleep(JsonNode deployment) {
    List<String> cmd =
        texts(
            firstContainer(deployment)
                .path("lifecycle")
                .path("preStop")
                .path("exec")
                .path("command"));
    return cmd.size() == 2 && cmd.getFirst().equals("sleep") ? Integer.parseInt(cmd.get(1)) : 0;
  }

  static List<String> selectedDeployments(Manifests m, Map<String, String> selector) {
    return m.ofKind("Deployment").stream()
        .filter(d -> matches(selector, labels(podTemplate(d))))
        .map(Manifests::name)
        .toList();
  }

  static int cacheServers(Manifests m) {
    return m.deployments("cache-server").size();
  }

  static List<String> names(List<ObjectNode> objects) {
    return objects.stream().map(Manifests::name).toList();
  }

  static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  static JsonNode json(String s) {
    try {
      return Chart.JSON.readTree(s);
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + s, e);
    }
  }
}
