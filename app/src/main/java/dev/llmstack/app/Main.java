package dev.llmstack.app;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The single {@code llmstack} command. */
@Command(
    name = "llmstack",
    mixinStandardHelpOptions = true,
    version = "llmstack 0.1.0",
    description = "LLM Stack: simulated vLLM engines, a router and benchmarks in one command.",
    subcommands = {
      UpCommand.class,
      RouterCommand.class,
      EngineCommand.class,
      BenchEngineCommand.class,
      BenchRouterCommand.class,
      BenchIndexCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {

  @Override
  public void run() {
    CommandLine.usage(this, System.out);
  }

  /** Bad arguments or a failed start print one line, not a stack trace. */
  static int run(String... args) {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          cmd.getErr().println("llmstack: " + (e.getMessage() != null ? e.getMessage() : e));
          if (System.getenv("LLMSTACK_DEBUG") != null) {
            e.printStackTrace(cmd.getErr());
          }
          return 2;
        });
    return cli.execute(args);
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }
}
