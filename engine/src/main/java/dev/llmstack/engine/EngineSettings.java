package dev.llmstack.engine;

import dev.llmstack.engine.server.Faults;
import java.nio.file.Path;

/**
 * Everything {@code llmstack engine} can be told, with vLLM's defaults where vLLM has the same
 * setting. A fluent mutable holder: the command line and tests set what they need, {@link
 * SimulatedEngine#start} reads it once.
 */
public final class EngineSettings {

  String model = "meta-llama/Llama-3.1-8B-Instruct";
  String profile = "llama-3.1-8b@h100";
  String host = "127.0.0.1";
  int port = 8000;
  Integer kvEventsPort;
  Integer kvReplayPort;
  String kvEventsTopic = "kv-events";
  boolean kvEventsMapEncoding;
  boolean kvEventsByteHashes;
  double timeScale = 1.0;
  Path tokenizer;
  double cpuOffloadGib;
  Integer numGpuBlocksOverride;
  Integer maxNumSeqs;
  Integer maxNumBatchedTokens;
  Integer maxModelLen;
  double eosProbability = 0.002;
  boolean enablePrefixCaching = true;
  boolean promptTokensDetails = true;
  boolean legacyMetricNames;
  int drainSeconds = 30;
  Faults.Settings faults = Faults.Settings.NONE;
  boolean enableLora;
  java.util.Map<String, String> loraModules = new java.util.LinkedHashMap<>();
  int maxLoras = 1;
  boolean runtimeLoraUpdating;

  public static EngineSettings defaults() {
    return new EngineSettings();
  }

  /** Served model name; also picks the tokenizer when no path is given. */
  public EngineSettings model(String v) {
    model = v;
    return this;
  }

  /** GPU x model profile id (see {@code Profiles}) or a path to a profile JSON file. */
  public EngineSettings profile(String v) {
    profile = v;
    return this;
  }

  public EngineSettings host(String v) {
    host = v;
    return this;
  }

  /** HTTP port; 0 picks a free one. */
  public EngineSettings port(int v) {
    port = v;
    return this;
  }

  /** Port of the KV-event PUB socket (0 picks a free one); null disables KV events. */
  public EngineSettings kvEventsPort(Integer v) {
    kvEventsPort = v;
    return this;
  }

  /** Port of the KV-event replay socket (0 picks a free one); null disables replay. */
  public EngineSettings kvReplayPort(Integer v) {
    kvReplayPort = v;
    return this;
  }

  public EngineSettings kvEventsTopic(String v) {
    kvEventsTopic = v;
    return this;
  }

  /** Encode KV events as msgpack maps (newest vLLM) instead of arrays (released vLLM default). */
  public EngineSettings kvEventsMapEncoding(boolean v) {
    kvEventsMapEncoding = v;
    return this;
  }

  /** Send block hashes as bytes (VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=0) instead of 64-bit ints. */
  public EngineSettings kvEventsByteHashes(boolean v) {
    kvEventsByteHashes = v;
    return this;
  }

  /** Run K times faster than real time; reported times stay in engine time. */
  public EngineSettings timeScale(double v) {
    timeScale = v;
    return this;
  }

  /**
   * GiB of CPU memory for the KV offload tier (LMCache's local CPU backend; 0 for none): blocks
   * cached in GPU memory are kept there too and loaded back instead of recomputed.
   */
  public EngineSettings cpuOffloadGib(double v) {
    cpuOffloadGib = v;
    return this;
  }

  /** A HuggingFace tokenizer directory; null fetches the served model's own. */
  public EngineSettings tokenizer(Path v) {
    tokenizer = v;
    return this;
  }

  public EngineSettings numGpuBlocksOverride(Integer v) {
    numGpuBlocksOverride = v;
    return this;
  }

  public EngineSettings maxNumSeqs(Integer v) {
    maxNumSeqs = v;
    return this;
  }

  public EngineSettings maxNumBatchedTokens(Integer v) {
    maxNumBatchedTokens = v;
    return this;
  }

  public EngineSettings maxModelLen(Integer v) {
    maxModelLen = v;
    return this;
  }

  /** Chance per token (after min_tokens) that generation ends on EOS, unless ignore_eos. */
  public EngineSettings eosProbability(double v) {
    eosProbability = v;
    return this;
  }

  public EngineSettings enablePrefixCaching(boolean v) {
    enablePrefixCaching = v;
    return this;
  }

  /** Report usage.prompt_tokens_details.cached_tokens (vLLM's --enable-prompt-tokens-details). */
  public EngineSettings promptTokensDetails(boolean v) {
    promptTokensDetails = v;
    return this;
  }

  /** Also export metric names vLLM deprecated (gpu_cache_usage_perc, ...). */
  public EngineSettings legacyMetricNames(boolean v) {
    legacyMetricNames = v;
    return this;
  }

  /** On shutdown, how long in-flight requests may run to completion. */
  public EngineSettings drainSeconds(int v) {
    drainSeconds = v;
    return this;
  }

  /**
   * Serves LoRA adapters (vLLM's --enable-lora): requests naming an adapter run on the base model
   * with the adapter's name in their KV block keys. The simulator loads no weights.
   */
  public EngineSettings enableLora(boolean v) {
    enableLora = v;
    return this;
  }

  /** An adapter served from the start (vLLM's --lora-modules name=path); enables LoRA. */
  public EngineSettings loraModule(String name, String path) {
    loraModules.put(name, path);
    enableLora = true;
    return this;
  }

  /** Adapters one batch may use at most (vLLM's --max-loras, default 1). */
  public EngineSettings maxLoras(int v) {
    maxLoras = v;
    return this;
  }

  /**
   * Allows /v1/load_lora_adapter and /v1/unload_lora_adapter (vLLM's
   * VLLM_ALLOW_RUNTIME_LORA_UPDATING=True).
   */
  public EngineSettings runtimeLoraUpdating(boolean v) {
    runtimeLoraUpdating = v;
    return this;
  }

  /** Faults active from the start. */
  public EngineSettings faults(Faults.Settings v) {
    faults = v;
    return this;
  }

  public String model() {
    return model;
  }

  public String profile() {
    return profile;
  }
}
