package dev.llmstack.router.threads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import dev.llmstack.router.discovery.Endpoint;
import dev.llmstack.router.proxy.EngineHttpClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class BackgroundThreadsTest {

  private static final boolean LINUX = Files.exists(Path.of("/proc/thread-self/stat"));

  /** The scheduling policy of the calling thread, field 41 of /proc/thread-self/stat. */
  private static int policyOfThisThread() throws IOException {
    String stat = Files.readString(Path.of("/proc/thread-self/stat"));
    String[] afterName = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Integer.parseInt(afterName[41 - 3]); // the fields after the name start at 3
  }

  /** What a thread of {@code threads}' factory sees of itself: policy, priority, daemon. */
  private static List<Object> seenFromInside(BackgroundThreads threads) throws Exception {
    CompletableFuture<List<Object>> seen = new CompletableFuture<>();
    threads
        .factory("test-background")
        .newThread(
            () -> {
              try {
                Thread self = Thread.currentThread();
                seen.complete(List.of(policyOfThisThread(), self.getPriority(), self.isDaemon()));
              } catch (IOException e) {
                seen.completeExceptionally(e);
              }
            })
        .start();
    return seen.get(10, TimeUnit.SECONDS);
  }

  @Test
  void idleThreadsRunInTheIdleClassAtTheLowestPriority() throws Exception {
    assumeTrue(LINUX, "SCHED_IDLE is Linux's");
    assertThat(seenFromInside(BackgroundThreads.IDLE))
        .containsExactly(5, Thread.MIN_PRIORITY, true);
  }

  @Test
  void normalThreadsKeepTheNormalClass() throws Exception {
    assumeTrue(LINUX, "reads /proc");
    assertThat(seenFromInside(BackgroundThreads.NORMAL))
        .containsExactly(0, Thread.MIN_PRIORITY, true);
  }

  @Test
  void parsesTheCommandLineValue() {
    assertThat(BackgroundThreads.Scheduling.parse("idle"))
        .isEqualTo(BackgroundThreads.Scheduling.IDLE);
    assertThat(BackgroundThreads.Scheduling.parse(" Normal "))
        .isEqualTo(BackgroundThreads.Scheduling.NORMAL);
    assertThatThrownBy(() -> BackgroundThreads.Scheduling.parse("batch"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("idle or normal");
    assertThat(BackgroundThreads.of(BackgroundThreads.Scheduling.IDLE).scheduling())
        .isEqualTo(BackgroundThreads.Scheduling.IDLE);
  }

  /**
   * With every core kept busy by normal threads, an idle-class monitor gets a sliver of CPU, so its
   * request is sent and read late. It must still succeed: the answer, there long before the
   * monitor's deadline ran, is read before that deadline is.
   */
  @Test
  void aStarvedMonitorStillGetsItsAnswerInsteadOfATimeout() throws Exception {
    assumeTrue(LINUX, "SCHED_IDLE is Linux's");
    HttpServer engine =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    engine.createContext(
        "/health",
        ex -> {
          byte[] b = "ok".getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(200, b.length);
          ex.getResponseBody().write(b);
          ex.close();
        });
    engine.start();
    AtomicBoolean spin = new AtomicBoolean(true);
    List<Thread> spinners = new ArrayList<>();
    try (EngineHttpClient client = new EngineHttpClient(1000, BackgroundThreads.IDLE)) {
      Endpoint endpoint = Endpoint.of("127.0.0.1", engine.getAddress().getPort());
      // Its first request warms the client up, with the cores free.
      assertThat(client.get(endpoint, "/health", 1000).get(10, TimeUnit.SECONDS).status())
          .isEqualTo(200);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // spinners stop by then
      for (int i = 0; i < Runtime.getRuntime().availableProcessors(); i++) {
        spinners.add(
            Thread.ofPlatform()
                .daemon(true)
                .start(
                    () -> {
                      while (spin.get() && System.nanoTime() < deadline) {
                        Thread.onSpinWait();
                      }
                    }));
      }
      // A deadline of 50 ms, far shorter than the monitor will take to get the core back.
      long start = System.nanoTime();
      EngineHttpClient.Response answer =
          client.get(endpoint, "/health", 50).get(30, TimeUnit.SECONDS);
      assertThat(answer).isEqualTo(new EngineHttpClient.Response(200, "ok"));
      System.out.printf(
          "starved monitor's answer after %d ms%n",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    } finally {
      spin.set(false);
      for (Thread t : spinners) {
        t.join();
      }
      engine.stop(0);
    }
  }
}
