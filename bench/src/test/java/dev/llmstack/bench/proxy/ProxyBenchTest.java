package dev.llmstack.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ProxyBenchTest {

  @Test
  void namesTheCollectorFromVmFlags() {
    String flags =
        "12345:\n-XX:CICompilerCount=2 -XX:InitialHeapSize=390070272 -XX:MaxHeapSize=536870912"
            + " -XX:+UseCompressedOops -XX:+UseSerialGC\n";
    assertThat(ProxyBench.collector(flags)).isEqualTo("Serial");
    assertThat(ProxyBench.collector("-XX:+UseG1GC -XX:+UseCompressedOops")).isEqualTo("G1");
    assertThat(ProxyBench.collector("-XX:+UseCompressedOops")).isEqualTo("unknown");
  }

  @Test
  void runsTheRouterWithTheLaunchersAndTheImagesPriorityFlags() throws Exception {
    // the tests run in the bench module's directory
    String launcher = Files.readString(Path.of("../llmstack"));
    String dockerfile = Files.readString(Path.of("../deploy/docker/Dockerfile"));
    assertThat(ProxyBench.PRIORITY_FLAGS).isNotEmpty();
    for (String flag : ProxyBench.PRIORITY_FLAGS) {
      assertThat(launcher).as("llmstack").contains(flag);
      assertThat(dockerfile).as("Dockerfile").contains(flag);
    }
  }

  @Test
  void readsTheCoresTasksetGaveAProcess() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/taskset")), "needs taskset");
    Process p = new ProcessBuilder("/usr/bin/taskset", "-c", "0", "sleep", "30").start();
    try {
      // taskset sets the mask, then execs sleep in the same process.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!ProxyBench.cpusAllowed(p.pid()).equals("0") && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(ProxyBench.cpusAllowed(p.pid())).isEqualTo("0");
    } finally {
      p.destroy();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    assertThat(ProxyBench.cpusAllowed(ProcessHandle.current().pid())).matches("[0-9][0-9,-]*");
  }
}
