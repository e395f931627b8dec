package dev.llmstack.app;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The single {@code llmstack} command. */
@Command(
    name = "llmstack",
    mixinStandardHelpOptions = true,
    version = "llmstack 0.1.0",
    description = "LLM Stack: a router, simulated vLLM engines and benchmarks in one command.",
    subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {

  @Override
  public void run() {
    CommandLine.usage(this, System.out);
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }
}
