package dev.llmstack.app;

import dev.llmstack.engine.EngineSettings;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** LoRA adapters the simulated engines serve, as vLLM takes them; shared by engine and up. */
final class LoraOptions {

  @Option(
      names = "--lora-modules",
      arity = "1..*",
      paramLabel = "NAME=PATH",
      description =
          "LoRA adapters to serve, as vLLM takes them: name=path or"
              + " {\"name\":...,\"path\":...} (implies --enable-lora; no weights are read).")
  List<String> modules = new ArrayList<>();

  @Option(
      names = "--max-loras",
      defaultValue = "1",
      description = "LoRA adapters one engine batch may use at most (default: ${DEFAULT-VALUE}).")
  int maxLoras;

  /** Adds the adapters (which turns LoRA on) and the per-batch limit to {@code settings}. */
  EngineSettings apply(EngineSettings settings) {
    for (String module : modules) {
      String[] nameAndPath = parse(module);
      settings.loraModule(nameAndPath[0], nameAndPath[1]);
    }
    return settings.maxLoras(maxLoras);
  }

  /** {@code name=path} or vLLM's JSON form {@code {"name":...,"path":...}}. */
  static String[] parse(String spec) {
    String s = spec.strip();
    if (s.startsWith("{")) {
      try {
        com.fasterxml.jackson.databind.JsonNode j =
            new com.fasterxml.jackson.databind.ObjectMapper().readTree(s);
        String name = j.path("name").asText("");
        String path = j.path("path").asText("");
        if (!name.isEmpty() && !path.isEmpty()) {
          return new String[] {name, path};
        }
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        // reported below
      }
    } else {
      int eq = s.indexOf('=');
      if (eq > 0 && eq < s.length() - 1) {
        return new String[] {s.substring(0, eq), s.substring(eq + 1)};
      }
    }
    throw new IllegalArgumentException(
        "--lora-modules takes name=path or {\"name\":...,\"path\":...}, not: " + spec);
  }
}
