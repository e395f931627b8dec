package dev.llmstack.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad arguments to bench and simulate end in one line on stderr and exit code 2, no trace. */
class BadArgumentsTest {

  private record Outcome(int code, String err) {}

  private static Outcome run(String... args) {
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), args);
    return new Outcome(code, err.toString());
  }

  private static void assertOneLineError(Outcome o, String contains) {
    assertThat(o.code()).isEqualTo(2);
    assertThat(o.err().strip()).doesNotContain("\n").doesNotContain("\tat ");
    assertThat(o.err()).startsWith("llmstack: ").contains(contains);
  }

  @Test
  void missingTraceFile(@TempDir Path dir) {
    assertOneLineError(
        run(
            "simulate",
            "--workload",
            "mooncake",
            "--trace",
            dir.resolve("nope.jsonl").toString(),
            "--out",
            dir.toString()),
        "trace file not found");
  }

  @Test
  void unreachableTarget(@TempDir Path dir) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // free, and nothing listens once closed
    }
    assertOneLineError(
        run("bench", "--target", "http://127.0.0.1:" + port, "--out", dir.toString()),
        "unreachable");
  }

  @Test
  void negativeRate(@TempDir Path dir) {
    assertOneLineError(
        run("simulate", "--qps", "-3", "--out", dir.toString()), "--qps must be positive");
    assertOneLineError(
        run("bench", "--target", "http://127.0.0.1:1", "--qps", "-1", "--out", dir.toString()),
        "--qps must be positive");
  }

  @Test
  void unknownWorkloadAndPolicy(@TempDir Path dir) {
    assertOneLineError(
        run("simulate", "--workload", "chat", "--out", dir.toString()), "unknown workload chat");
    assertOneLineError(
        run("simulate", "--policies", "kv,fastest", "--out", dir.toString()),
        "unknown policy fastest");
  }

  @Test
  void benchRouterLoadFractionInRange(@TempDir Path dir) {
    for (String bad : new String[] {"0", "1.5", "-0.2", "NaN"}) {
      assertOneLineError(
          run("bench-router", "--load-fraction", bad, "--out", dir.toString()),
          "--load-fraction must be in (0, 1]");
    }
  }

  @Test
  void benchRouterSlicesNotNegative(@TempDir Path dir) {
    assertOneLineError(
        run("bench-router", "--slice-ms", "-1", "--out", dir.toString()),
        "--warmup-seconds and --slice-ms not negative");
  }

  @Test
  void benchRouterScenariosByName(@TempDir Path dir) {
    assertOneLineError(
        run("bench-router", "--scenario", "small-json,streams", "--out", dir.toString()),
        "--scenario takes small-json, sse-stream-10x5ms");
  }

  @Test
  void targetMustBeAUrl(@TempDir Path dir) {
    assertOneLineError(
        run("bench", "--target", "localhost:8080", "--out", dir.toString()), "http(s) URL");
  }

  @Test
  void loraModulesTakeVllmsTwoForms() {
    assertThat(LoraOptions.parse("sql-lora=/adapters/sql"))
        .containsExactly("sql-lora", "/adapters/sql");
    assertThat(LoraOptions.parse("{\"name\": \"chat\", \"path\": \"/a/chat\"}"))
        .containsExactly("chat", "/a/chat");
    assertOneLineError(run("engine", "--lora-modules", "no-path", "--port", "0"), "name=path");
  }
}
