package dev.llmstack.bench.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CoreNeighboursTest {

  @Test
  void parsesLinuxCpuLists() {
    assertThat(CoreNeighbours.parseList("0-1\n")).isEqualTo(bits(0, 1));
    assertThat(CoreNeighbours.parseList("1")).isEqualTo(bits(1));
    assertThat(CoreNeighbours.parseList("0-2,5,7-8")).isEqualTo(bits(0, 1, 2, 5, 7, 8));
  }

  @Test
  void onlyTasksThatMayAlsoRunElsewhereShareTheCore() {
    assertThat(CoreNeighbours.shares(bits(0, 1), 1)).isTrue();
    assertThat(CoreNeighbours.shares(bits(1), 1)).as("per-core kernel thread, or pinned").isFalse();
    assertThat(CoreNeighbours.shares(bits(0), 1)).isFalse();
  }

  @Test
  void countsThisJvmsThreadsUnlessTheyAreItsOwn() throws Exception {
    long self = ProcessHandle.current().pid();
    String allowed = ProxyBench.cpusAllowed(self);
    assumeTrue(!allowed.isEmpty(), "reads /proc");
    assertThat(CoreNeighbours.onlineCores()).isGreaterThanOrEqualTo(1);
    CoreNeighbours.Count others = CoreNeighbours.of(0, Set.of(self));
    assertThat(others.tasks()).isGreaterThanOrEqualTo(0);
    assertThat(others.interrupts()).isGreaterThanOrEqualTo(0);
    // Unpinned on two cores or more, this JVM's threads (a dozen at least) share core 0.
    assumeTrue(CoreNeighbours.shares(CoreNeighbours.parseList(allowed), 0), "pinned");
    CoreNeighbours.Count all = CoreNeighbours.of(0, Set.of());
    assertThat(all.tasks()).isGreaterThanOrEqualTo(others.tasks() + 5);
  }

  private static BitSet bits(int... cores) {
    BitSet b = new BitSet();
    for (int c : cores) {
      b.set(c);
    }
    return b;
  }

  @Test
  void countsProcessesByName() throws Exception {
    assumeTrue(Files.isDirectory(Path.of("/proc/self")), "needs /proc");
    String comm = Files.readString(Path.of("/proc/self/comm")).trim();
    assertThat(CoreNeighbours.processesNamed(comm)).isPositive(); // this JVM
    Process p = new ProcessBuilder("sleep", "30").start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      int sleeps = CoreNeighbours.processesNamed("sleep");
      while (sleeps == 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
        sleeps = CoreNeighbours.processesNamed("sleep");
      }
      assertThat(sleeps).isPositive();
    } finally {
      p.destroy();
      p.waitFor(10, TimeUnit.SECONDS);
    }
    assertThat(CoreNeighbours.processesNamed("no-such-process-name")).isZero();
  }
}
