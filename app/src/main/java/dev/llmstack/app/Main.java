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
      BenchRelayCommand.class,
      BenchCommand.class,
      SimulateCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {

  @Override
  public void run() {
    CommandLine.usage(this, System.out);
  }

  /** Bad arguments or a failed start print one line, not a stack trace. */
  static int run(String... args) {
    return run(
        new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
  }

  static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
    CommandLine cli = new CommandLine(new Main());
    cli.setOut(out);
    cli.setErr(err);
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

  /** Held so java.util.logging keeps the level (it references loggers weakly). */
  private static final java.util.logging.Logger DJL = java.util.logging.Logger.getLogger("ai.djl");

  private static final String LEAK_SAMPLING = "io.netty.leakDetection.samplingInterval";

  public static void main(String[] args) {
    // One line per log record; DJL's start-up chatter (GPU probing on a machine without CUDA) only
    // when severe.
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty(
          "java.util.logging.SimpleFormatter.format", "%1$tF %1$tT %4$s %3$s: %5$s%6$s%n");
    }
    DJL.setLevel(java.util.logging.Level.SEVERE);
    // Netty tracks one buffer in 128 for leaks and records a stack trace for each: 2-4% of the
    // router's event loop in a profile at saturation (docs/benchmarks/router). One in 4096 still
    // reports a leak on every request within seconds at production rates; the tests run the leak
    // detector on paranoid.
    if (System.getProperty(LEAK_SAMPLING) == null) {
      System.setProperty(LEAK_SAMPLING, "4096");
    }
    System.exit(run(args));
  }
}
