package dev.llmstack.app;

import dev.llmstack.router.Router;
import dev.llmstack.router.RouterSettings;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code llmstack router}: the OpenAI-compatible gateway in front of vLLM engines. */
@Command(
    name = "router",
    mixinStandardHelpOptions = true,
    description = "Runs the router: one OpenAI-compatible endpoint in front of many vLLM engines.")
final class RouterCommand implements Callable<Integer> {

  @Option(
      names = "--host",
      defaultValue = "127.0.0.1",
      description = "Bind address (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(
      names = "--port",
      defaultValue = "8080",
      description = "Port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--backends", description = "Engines: http://host:port,http://host:port,...")
  String backends;

  @Option(
      names = "--config",
      description = "YAML file with a 'backends' list, reloaded when it changes.")
  String config;

  @Option(
      names = "--discovery",
      defaultValue = "static",
      description = "static (backends/config) or k8s.")
  String discovery;

  @Option(
      names = "--namespace",
      defaultValue = "default",
      description = "Kubernetes namespace of engine pods.")
  String namespace;

  @Option(
      names = "--selector",
      defaultValue = "app=vllm",
      description = "Label selector of engine pods.")
  String selector;

  @Option(
      names = "--port-name",
      defaultValue = "http",
      description = "Named container port of engines.")
  String portName;

  @Mixin RouterOptions options;

  @Override
  public Integer call() throws Exception {
    if (discovery.equals("static") && backends == null && config == null) {
      throw new IllegalArgumentException("give --backends, --config or --discovery k8s");
    }
    RouterSettings s =
        options.apply(
            RouterSettings.defaults()
                .host(host)
                .port(port)
                .backends(RouterOptions.split(backends))
                .configFile(RouterOptions.path(config))
                .discovery(discovery)
                .namespace(namespace)
                .selector(selector)
                .portName(portName));
    Router router = Router.start(s);
    System.out.println(
        "llmstack router: listening at "
            + router.baseUrl()
            + " ("
            + String.join(", ", router.sources())
            + ")");
    ShutdownHook.awaitThenRun("llmstack router", router::close);
    return 0;
  }
}
