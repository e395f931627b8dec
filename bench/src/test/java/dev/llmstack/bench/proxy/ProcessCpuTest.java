package dev.llmstack.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProcessCpuTest {

  @Test
  void threadsAreSortedByTheirJvmOrNettyNames() {
    assertThat(ProcessCpu.kind("C2 CompilerThre")).isEqualTo(ProcessCpu.JIT);
    assertThat(ProcessCpu.kind("C1 CompilerThre")).isEqualTo(ProcessCpu.JIT);
    assertThat(ProcessCpu.kind("GC Thread#0")).isEqualTo(ProcessCpu.GC);
    assertThat(ProcessCpu.kind("G1 Conc#0")).isEqualTo(ProcessCpu.GC);
    assertThat(ProcessCpu.kind("multiThreadIoEv")).isEqualTo(ProcessCpu.EVENT_LOOP);
    assertThat(ProcessCpu.kind("main")).isEqualTo(ProcessCpu.OTHER);
  }

  @Test
  void cpuOfABusyEventLoopThreadLandsUnderEventLoop() throws Exception {
    assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "needs Linux /proc");
    List<ProcessHandle> self = List.of(ProcessHandle.current());
    ProcessCpu before = ProcessCpu.of(self);
    // Netty's default name for an event-loop thread; the kernel keeps its first 15 characters.
    Thread spin =
        new Thread(
            () -> {
              long end = System.nanoTime() + 400_000_000L;
              long x = 0;
              while (System.nanoTime() < end) {
                x += System.nanoTime() & 1;
              }
              if (x == 42) {
                System.out.print(""); // keep the loop
              }
            },
            "multiThreadIoEventLoopGroup-9-1");
    spin.start();
    Thread.sleep(300); // read while it still runs: an ended thread drops out of /proc
    ProcessCpu used = ProcessCpu.of(self).minus(before);
    spin.join();
    assertThat(used.get(ProcessCpu.EVENT_LOOP)).isGreaterThan(0.1);
    assertThat(used.total()).isGreaterThanOrEqualTo(used.get(ProcessCpu.EVENT_LOOP));
  }
}
