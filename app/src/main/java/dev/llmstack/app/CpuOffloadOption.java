package dev.llmstack.app;

import picocli.CommandLine.Option;

/** The CPU KV offload tier of simulated engines; shared by engine, up and simulate. */
final class CpuOffloadOption {

  @Option(
      names = "--cpu-offload-gb",
      defaultValue = "0",
      description =
          "GiB of CPU memory for a KV offload tier per engine (LMCache's local CPU backend; 0: none).")
  double gib;
}
