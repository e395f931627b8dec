package dev.llmstack.app;

import dev.llmstack.engine.EngineSettings;
import dev.llmstack.engine.SimulatedEngine;
import dev.llmstack.engine.server.Faults;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code llmstack engine}: one vLLM-compatible simulated engine. */
@Command(
    name = "engine",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a simulated vLLM engine: vLLM's OpenAI-compatible API, /metrics and KV events, with a GPU"
          + " performance model deciding when each token is ready."
    })
final class EngineCommand implements Callable<Integer> {

  @Option(
      names = "--model",
      defaultValue = "meta-llama/Llama-3.1-8B-Instruct",
      description = "Served model name; also selects the tokenizer (default: ${DEFAULT-VALUE}).")
  String model;

  @Option(
      names = "--profile",
      defaultValue = "llama-3.1-8b@h100",
      description = "GPU x model profile id or JSON file (default: ${DEFAULT-VALUE}).")
  String profile;

  @Option(
      names = "--host",
      defaultValue = "127.0.0.1",
      description = "Bind address (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(
      names = "--port",
      defaultValue = "8000",
      description = "HTTP port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--kv-events-port", description = "Publish KV events (ZMQ PUB) on this port.")
  Integer kvEventsPort;

  @Option(
      names = "--kv-replay-port",
      description = "Serve KV-event replay (ZMQ ROUTER) on this port; needs --kv-events-port.")
  Integer kvReplayPort;

  @Option(names = "--kv-events-topic", defaultValue = "kv-events", description = "KV-event topic.")
  String kvEventsTopic;

  @Option(
      names = "--kv-events-encoding",
      defaultValue = "array",
      description = "array (released vLLM) or map (newest vLLM) msgpack layout.")
  String kvEventsEncoding;

  @Option(
      names = "--kv-events-byte-hashes",
      description = "Send block hashes as bytes (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=0).")
  boolean kvEventsByteHashes;

  @Mixin CpuOffloadOption cpuOffload;

  @Option(
      names = "--time-scale",
      defaultValue = "1",
      description = "Run K times faster than real time; reported times stay engine time.")
  double timeScale;

  @Option(
      names = "--tokenizer",
      description = "HuggingFace tokenizer directory (default: the model's own).")
  Path tokenizer;

  @Option(names = "--num-gpu-blocks-override", description = "KV blocks, instead of the profile's.")
  Integer numGpuBlocks;

  @Option(names = "--max-num-seqs", description = "Sequences per batch at most.")
  Integer maxNumSeqs;

  @Option(names = "--max-num-batched-tokens", description = "Tokens per step at most.")
  Integer maxNumBatchedTokens;

  @Option(names = "--max-model-len", description = "Context length (default: the profile's).")
  Integer maxModelLen;

  @Option(
      names = "--eos-probability",
      defaultValue = "0.002",
      description =
          "Chance per token that a seeded EOS ends generation (default: ${DEFAULT-VALUE}).")
  double eosProbability;

  @Option(names = "--no-enable-prefix-caching", description = "Turn automatic prefix caching off.")
  boolean noPrefixCaching;

  @Option(
      names = "--enable-prompt-tokens-details",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description = "Report usage.prompt_tokens_details.cached_tokens (default: on).")
  boolean promptTokensDetails;

  @Option(
      names = "--legacy-metric-names",
      description = "Also export deprecated vLLM metric names.")
  boolean legacyMetricNames;

  @Option(
      names = "--drain-seconds",
      defaultValue = "30",
      description = "On shutdown, let in-flight requests finish for this long.")
  int drainSeconds;

  @Option(
      names = "--enable-lora",
      description = "Serve LoRA adapters (given here or loaded at run time).")
  boolean enableLora;

  @Mixin LoraOptions lora;

  @Option(
      names = "--fault-crash-after-tokens",
      description = "Die after this many generated tokens.")
  Long crashAfterTokens;

  @Option(names = "--fault-hang", description = "Accept requests but compute nothing.")
  boolean hang;

  @Option(names = "--fault-slowdown", description = "Make every step this many times slower.")
  Double slowdown;

  @Option(names = "--fault-error-rate", description = "Answer this fraction of requests with 500.")
  Double errorRate;

  @Option(names = "--fault-refuse-connections", description = "Do not accept connections.")
  boolean refuseConnections;

  EngineSettings settings() {
    if (!kvEventsEncoding.equals("array") && !kvEventsEncoding.equals("map")) {
      throw new IllegalArgumentException("--kv-events-encoding must be array or map");
    }
    if (kvReplayPort != null && kvEventsPort == null) {
      throw new IllegalArgumentException("--kv-replay-port needs --kv-events-port");
    }
    EngineSettings settings = lora.apply(EngineSettings.defaults());
    // vLLM allows /v1/load_lora_adapter only with this environment variable set.
    boolean runtimeUpdates =
        "true".equalsIgnoreCase(System.getenv("VLLM_ALLOW_RUNTIME_LORA_UPDATING"))
            || "1".equals(System.getenv("VLLM_ALLOW_RUNTIME_LORA_UPDATING"));
    return settings
        .enableLora(enableLora || !lora.modules.isEmpty())
        .runtimeLoraUpdating(runtimeUpdates)
        .model(model)
        .profile(profile)
        .host(host)
        .port(port)
        .kvEventsPort(kvEventsPort)
        .kvReplayPort(kvReplayPort)
        .kvEventsTopic(kvEventsTopic)
        .kvEventsMapEncoding(kvEventsEncoding.equals("map"))
        .kvEventsByteHashes(kvEventsByteHashes)
        .timeScale(timeScale)
        .cpuOffloadGib(cpuOffload.gib)
        .tokenizer(tokenizer)
        .numGpuBlocksOverride(numGpuBlocks)
        .maxNumSeqs(maxNumSeqs)
        .maxNumBatchedTokens(maxNumBatchedTokens)
        .maxModelLen(maxModelLen)
        .eosProbability(eosProbability)
        .enablePrefixCaching(!noPrefixCaching)
        .promptTokensDetails(promptTokensDetails)
        .legacyMetricNames(legacyMetricNames)
        .drainSeconds(drainSeconds)
        .faults(
            new Faults.Settings(
                crashAfterTokens,
                hang ? Boolean.TRUE : null,
                slowdown,
                errorRate,
                refuseConnections ? Boolean.TRUE : null));
  }

  @Override
  public Integer call() throws Exception {
    SimulatedEngine engine = SimulatedEngine.start(settings());
    System.out.println("llmstack engine: " + engine.describe());
    ShutdownHook.awaitThenRun("llmstack engine", engine::close);
    return 0;
  }
}
