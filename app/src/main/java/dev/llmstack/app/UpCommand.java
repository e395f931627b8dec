package dev.llmstack.app;

import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.router.Router;
import dev.llmstack.router.RouterSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code llmstack up}: simulated engines and a router in one process, ready for an OpenAI client.
 */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description = {
      "Starts N simulated vLLM engines and the router in front of them (or, with --backends, the router in"
          + " front of existing vLLM servers). Ctrl-C stops everything."
    })
final class UpCommand implements Callable<Integer> {

  @Option(
      names = "--engines",
      defaultValue = "2",
      description = "Simulated engines (default: ${DEFAULT-VALUE}).")
  int engines;

  @Option(
      names = "--profile",
      defaultValue = "llama-3.1-8b@h100",
      description = "Engine profile (default: ${DEFAULT-VALUE}).")
  String profile;

  @Option(
      names = "--model",
      defaultValue = "meta-llama/Llama-3.1-8B-Instruct",
      description = "Served model name.")
  String model;

  @Option(
      names = "--port",
      defaultValue = "8080",
      description = "Router port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Bind address of everything.")
  String host;

  @Option(
      names = "--engine-base-port",
      defaultValue = "8100",
      description = "First engine port; 0 picks free ports.")
  int engineBasePort;

  @Mixin CpuOffloadOption cpuOffload;

  @Option(
      names = "--time-scale",
      defaultValue = "1",
      description = "Engines run K times faster than real time.")
  double timeScale;

  @Option(
      names = "--max-model-len",
      description = "Context length of the engines (default: the profile's).")
  Integer maxModelLen;

  @Option(
      names = "--kv-events",
      description =
          "Engines publish KV events (HTTP port + 1000, replay + 2000) and the router follows them"
              + " (use with --policy kv).")
  boolean kvEvents;

  @Mixin LoraOptions lora;

  @Option(
      names = "--backends",
      description = "Front these vLLM servers instead of starting engines.")
  String backends;

  @Mixin RouterOptions options;

  @Override
  public Integer call() throws Exception {
    if (engines < 1 && backends == null) {
      throw new IllegalArgumentException("--engines must be at least 1");
    }
    if (kvEvents && engineBasePort == 0) {
      throw new IllegalArgumentException(
          "--kv-events needs fixed engine ports (--engine-base-port)");
    }
    List<SimulatedEngine> started = new ArrayList<>();
    Router router = null;
    try {
      List<String> urls;
      if (backends != null) {
        urls = RouterOptions.split(backends);
      } else {
        urls = new ArrayList<>();
        for (int i = 0; i < engines; i++) {
          int p = engineBasePort == 0 ? 0 : engineBasePort + i;
          EngineSettings es =
              EngineSettings.defaults()
                  .model(model)
                  .profile(profile)
                  .host(host)
                  .port(p)
                  .timeScale(timeScale)
                  .cpuOffloadGib(cpuOffload.gib)
                  .maxModelLen(maxModelLen);
          lora.apply(es);
          if (kvEvents) {
            es.kvEventsPort(p == 0 ? 0 : p + 1000).kvReplayPort(p == 0 ? 0 : p + 2000);
          }
          SimulatedEngine e = SimulatedEngine.start(es);
          started.add(e);
          urls.add(e.baseUrl());
          System.out.println("llmstack up: engine " + i + " " + e.describe());
        }
      }
      RouterSettings rs = RouterSettings.defaults().host(host).port(port).backends(urls);
      if (kvEvents && backends == null) {
        rs.kvEventsPortOffsets(1000, 2000); // where the engines above publish
      }
      router = Router.start(options.apply(rs));
      awaitRoutable(router, urls.size());
      String base = router.baseUrl();
      System.out.println(
          "llmstack up: router at "
              + base
              + " (policy "
              + options.policy
              + ", "
              + urls.size()
              + " engine(s))");
      System.out.println("Try:");
      System.out.println(
          "  curl -s "
              + base
              + "/v1/chat/completions -H 'Content-Type: application/json' \\\n"
              + "    -d '{\"model\":\""
              + model
              + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}],"
              + "\"max_tokens\":32}'");
      if (!options.noDashboard) {
        System.out.println("Dashboard: " + base + "/dashboard   Metrics: " + base + "/metrics");
      }
      System.out.println("Stop with Ctrl-C.");
    } catch (Exception | Error e) {
      if (router != null) {
        router.close();
      }
      started.forEach(SimulatedEngine::close);
      throw e;
    }
    Router r = router;
    ShutdownHook.awaitThenRun(
        "llmstack up",
        () -> {
          r.close();
          started.forEach(SimulatedEngine::close);
        });
    return 0;
  }

  /**
   * Waits (bounded) until the router has read every engine's model list, so the first curl works.
   */
  private static void awaitRoutable(Router router, int engines) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      long ready =
          router.registry().all().stream()
              .filter(b -> b.modelsKnown() && b.routable(System.nanoTime()))
              .count();
      if (ready >= engines) {
        return;
      }
      Thread.sleep(50);
    }
  }
}
