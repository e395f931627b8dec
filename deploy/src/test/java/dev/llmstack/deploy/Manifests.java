package dev.llmstack.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/** The objects one {@code helm template} rendered, with the look-ups the tests need. */
record Manifests(List<ObjectNode> docs) {

  List<ObjectNode> ofKind(String kind) {
    return docs.stream().filter(d -> kind.equals(d.path("kind").asText())).toList();
  }

  ObjectNode get(String kind, String name) {
    return docs.stream()
        .filter(d -> kind.equals(d.path("kind").asText()) && name.equals(name(d)))
        .findFirst()
        .orElseThrow(() -> new NoSuchElementException(kind + " " + name + " not rendered"));
  }

  boolean has(String kind, String name) {
    return docs.stream()
        .anyMatch(d -> kind.equals(d.path("kind").asText()) && name.equals(name(d)));
  }

  /** Deployments whose pods carry app.kubernetes.io/component=component. */
  List<ObjectNode> deployments(String component) {
    return ofKind("Deployment").stream()
        .filter(d -> component.equals(labels(podTemplate(d)).get("app.kubernetes.io/component")))
        .toList();
  }

  ObjectNode router() {
    List<ObjectNode> routers = deployments("router");
    if (routers.size() != 1) {
      throw new IllegalStateException("expected one router Deployment, got " + routers.size());
    }
    return routers.getFirst();
  }

  static String name(JsonNode obj) {
    return obj.path("metadata").path("name").asText();
  }

  static JsonNode podTemplate(JsonNode deployment) {
    return deployment.path("spec").path("template");
  }

  static JsonNode firstContainer(JsonNode deployment) {
    return podTemplate(deployment).path("spec").path("containers").path(0);
  }

  static Map<String, String> labels(JsonNode obj) {
    return strings(obj.path("metadata").path("labels"));
  }

  static Map<String, String> strings(JsonNode map) {
    Map<String, String> out = new LinkedHashMap<>();
    map.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
    return out;
  }

  static List<String> args(JsonNode container) {
    List<String> out = new ArrayList<>();
    container.path("args").forEach(a -> out.add(a.asText()));
    return out;
  }

  /** The value after {@code flag} in args, or of {@code flag=value}; null when absent. */
  static String flag(List<String> args, String flag) {
    for (int i = 0; i < args.size(); i++) {
      if (args.get(i).equals(flag) && i + 1 < args.size()) {
        return args.get(i + 1);
      }
      if (args.get(i).startsWith(flag + "=")) {
        return args.get(i).substring(flag.length() + 1);
      }
    }
    return null;
  }

  /** The container port named {@code name}, or -1. */
  static int containerPort(JsonNode container, String name) {
    for (JsonNode p : container.path("ports")) {
      if (name.equals(p.path("name").asText())) {
        return p.path("containerPort").asInt();
      }
    }
    return -1;
  }

  /** Whether every key=value of a matchLabels-style selector is among the labels. */
  static boolean matches(Map<String, String> selector, Map<String, String> labels) {
    return !selector.isEmpty()
        && selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
  }

  /** A {@code k=v,k=v} selector string (what --selector takes) as a map. */
  static Map<String, String> parseSelector(String selector) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String term : selector.split(",")) {
      String[] kv = term.split("=", 2);
      if (kv.length != 2) {
        throw new IllegalArgumentException("not an equality selector: " + selector);
      }
      out.put(kv[0].trim(), kv[1].trim());
    }
    return out;
  }
}
