package dev.llmstack.bench.proxy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Runs a diagnostic command in another JVM with the {@code jcmd} beside a {@code java} binary. */
final class Jcmd {

  private Jcmd() {}

  /**
   * The output of {@code jcmd <pid> <command>}, or {@code null} when there is no jcmd (a JRE), it
   * fails, or it takes over 30 s.
   */
  static String run(String java, long pid, String command) {
    Path jcmd = Path.of(java).resolveSibling("jcmd");
    if (!Files.isExecutable(jcmd)) {
      return null;
    }
    try {
      Process p =
          new ProcessBuilder(jcmd.toString(), Long.toString(pid), command)
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return null;
      }
      return p.exitValue() == 0 ? out : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
